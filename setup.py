"""Extension modules and the native memorydb-server executable.

Metadata lives in pyproject.toml; this file only knows how to compile:

  pynode._engine   pynode/_engine.pyx + every csrc/*.c (but crc32c.c)
  pynode._resp     pynode/_resp.pyx + csrc/resp_parser.c      (if present)
  pynode._shm      pynode/_shm.pyx + csrc/ring.c              (if present)
  pynode._tracker  pynode/_tracker.pyx + csrc/tracker.c       (if present)
  logd._crc32c     logd/_crc32c.pyx + csrc/crc32c.c           (if present)
  memorydb-server  `cython --embed` of pynode/server_main.pyx, linked against
                   libpython; installed into <prefix>/bin via data_files
                   (setuptools' scripts= refuses binary files).

PYNODE_DEBUG=1 builds with -O0 -g -DMDB_DEBUG (expensive invariant checks).
Optional pieces are skipped when their sources are absent, so the build works
while the team is still writing them.
"""
import glob
import os
import shlex
import subprocess
import sys
import sysconfig

from setuptools import Distribution, Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
DEBUG = os.environ.get("PYNODE_DEBUG", "") not in ("", "0")

# Relative to setup.py: data_files refuses absolute paths, and pip builds in-tree.
SERVER_BIN_DIR = os.path.join("build", "native")
SERVER_BIN = os.path.join(SERVER_BIN_DIR, "memorydb-server")

# Python's own CFLAGS carry -DNDEBUG; our invariant assertions stay on in
# release builds too (-UNDEBUG), as the style guide asks.
# A call without a prototype is an error: C would assume it returns int, which
# truncates a size_t result without a word.
if DEBUG:
    C_FLAGS = ["-O0", "-g", "-std=gnu11", "-Wall", "-UNDEBUG", "-DMDB_DEBUG"]
else:
    C_FLAGS = ["-O2", "-std=gnu11", "-Wall", "-UNDEBUG"]
C_FLAGS.append("-Werror=implicit-function-declaration")
# Cython's generated code triggers these by design; they hide real warnings.
CYTHON_C_FLAGS = ["-Wno-unused-function", "-Wno-unreachable-code"]


def rel(*parts):
    return os.path.join(*parts)


def exists(path):
    return os.path.exists(os.path.join(HERE, path))


def engine_sources():
    """Every C file of the engine. crc32c.c is logd._crc32c's, and is linked
    here too only when snapshot.c (which checksums snapshots with it) exists."""
    found = sorted(glob.glob(os.path.join(HERE, "csrc", "*.c")))
    names = [rel("csrc", os.path.basename(p)) for p in found]
    if exists(rel("csrc", "snapshot.c")):
        return names
    return [n for n in names if os.path.basename(n) != "crc32c.c"]


# Small extensions beside the engine: (module, pyx, C sources it needs,
# C sources it may use). Each is built only once its pyx and needed C files
# exist, so the build works while the team is still writing them.
# The plain data structures (no I/O, depend on libc only): any small
# extension whose C code uses a dict may link them.
LEAF_SOURCES = [rel("csrc", "dict.c"), rel("csrc", "sds.c")]

SMALL_EXTENSIONS = [
    ("pynode._resp", rel("pynode", "_resp.pyx"), [rel("csrc", "resp_parser.c")], []),
    ("pynode._shm", rel("pynode", "_shm.pyx"), [rel("csrc", "ring.c")],
     [rel("csrc", "tracker.c")] + LEAF_SOURCES),
    ("pynode._tracker", rel("pynode", "_tracker.pyx"), [rel("csrc", "tracker.c")],
     [rel("csrc", "ring.c")] + LEAF_SOURCES),
    ("logd._crc32c", rel("logd", "_crc32c.pyx"), [rel("csrc", "crc32c.c")], []),
]


def make_extension(name, sources):
    return Extension(
        name,
        sources=sources,
        include_dirs=["csrc", rel("pynode", "includes")],
        extra_compile_args=C_FLAGS + CYTHON_C_FLAGS,
    )


def extensions():
    exts = []
    if exists(rel("pynode", "_engine.pyx")):
        exts.append(make_extension(
            "pynode._engine", [rel("pynode", "_engine.pyx")] + engine_sources()))
    for name, pyx, needed, optional in SMALL_EXTENSIONS:
        if exists(pyx) and all(exists(c) for c in needed):
            exts.append(make_extension(name, [pyx] + needed + [c for c in optional if exists(c)]))
    return exts


def cythonized(exts):
    if not exts:
        return []
    from Cython.Build import cythonize
    return cythonize(
        exts,
        include_path=[rel("pynode", "includes")],
        compiler_directives={"language_level": "3", "embedsignature": True},
        gdb_debug=DEBUG,
        quiet=True,
    )


def python_config():
    """The python-config of the interpreter running this build (a venv has
    none of its own: the base installation's BINDIR holds it)."""
    ver = sysconfig.get_config_var("VERSION")
    bindir = sysconfig.get_config_var("BINDIR") or ""
    for cand in (os.path.join(bindir, f"python{ver}-config"),
                 os.path.join(bindir, "python3-config")):
        if os.path.exists(cand):
            return cand
    return "python3-config"


def run(cmd):
    print(" ".join(shlex.quote(c) for c in cmd), flush=True)
    subprocess.check_call(cmd, cwd=HERE)


def config_flags(*what):
    out = subprocess.check_output([python_config(), *what], text=True)
    return shlex.split(out)


def build_server_binary():
    """cython --embed server_main.pyx -> C with a main() -> executable."""
    pyx = rel("pynode", "server_main.pyx")
    if not exists(pyx):
        return
    os.makedirs(os.path.join(HERE, SERVER_BIN_DIR), exist_ok=True)
    c_file = os.path.join(SERVER_BIN_DIR, "server_main.c")
    run([sys.executable, "-m", "cython", "--embed", "-3", "-o", c_file, pyx])
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    cflags = [f for f in config_flags("--cflags") if f not in ("-O3",)]
    ldflags = config_flags("--ldflags", "--embed")
    opt = ["-O0", "-g"] if DEBUG else ["-O2"]
    run(["gcc", *cflags, *opt, *CYTHON_C_FLAGS, "-o", SERVER_BIN, c_file,
         *ldflags, f"-Wl,-rpath,{libdir}"])


class BuildExtAndServer(build_ext):
    """build_ext that also produces the native memorydb-server, so both
    `pip install .` and `pip install -e .` (which runs build_ext in place)
    have the binary before install_data copies it to <prefix>/bin."""

    def run(self):
        super().run()
        build_server_binary()


def data_files():
    # The binary does not exist yet when setup() is called; install_data runs
    # after build_ext has made it.
    if exists(rel("pynode", "server_main.pyx")):
        return [("bin", [SERVER_BIN])]
    return []


class MdbDistribution(Distribution):
    """setuptools' editable_wheel installs the "data" category only if the
    distribution answers has_data(); Distribution names it has_data_files().
    Without this, `pip install -e .` would not put memorydb-server in bin/."""

    def has_data(self):
        return self.has_data_files()


def packages():
    # Every package under pynode/ and logd/ that has an __init__.py.
    from setuptools import find_packages
    return find_packages(where=HERE, include=["pynode", "pynode.*", "logd", "logd.*"])


setup(
    packages=packages(),
    ext_modules=cythonized(extensions()),
    distclass=MdbDistribution,
    cmdclass={"build_ext": BuildExtAndServer},
    data_files=data_files(),
    zip_safe=False,
)
