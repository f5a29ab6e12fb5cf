"""python -m logd --az a --dir DIR --bind tcp://127.0.0.1:PORT"""
import sys

from logd.server import main

sys.exit(main())
