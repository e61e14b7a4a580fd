# smartECR firmware — every entry point a developer or CI needs.
#
#   make sim       the host simulator: firmware + every virtual peripheral, operator UI
#                  (RUNTIME=micropython for the MicroPython firmware, HEADLESS=1 for no UI,
#                  CAMERA=/dev/video0 or a video file to scan with a camera, TARGET=qemu for the
#                  firmware in an arm64 QEMU guest: docs/qemu.md, REGISTERS=3 for three
#                  registers at the store server; the back office's address is printed;
#                  TSE=cloud to sign with the simulated cloud TSE instead of the card)
#   make setup     virtual environment, pinned Python packages, Debian packages (idempotent)
#   make test      lint + device-code gates + CPython tests + MicroPython tests (what CI runs)
#   make test-upy  only the device tests under the MicroPython unix port
#   make lint      ruff (also bans CPython-only imports in device code)
#   make gates     mpy-cross over every device file + the MicroPython API gate
#   make demo      a scripted shift on the simulator (RUNTIME=micropython for the MicroPython firmware,
#                  TARGET=qemu for the shift in the arm64 guest, TSE=cloud to sign in the simulated
#                  cloud, TSE=shared REGISTERS=3 for three registers on one card through the service)
#   make bench     benchmarks: table on stdout, results in out/bench.json
#   make qemu-image  the QEMU target's arm64 guest (kernel + initramfs) from Debian packages
#   make lock      re-resolve deps/requirements.in into deps/requirements.lock
#   make clean     remove the environment and everything generated
#
# Set-up is driven by stamp files inside .venv: a second `make setup` does nothing
# unless deps/requirements.lock or deps/apt.txt changed.

PYTHON    ?= python3.11
VENV      := .venv
BIN       := $(VENV)/bin
PY        := $(BIN)/python
STAMP_PIP := $(VENV)/.stamp-pip
STAMP_APT := $(VENV)/.stamp-apt
# emupos (the printer and drawer emulator) needs Python >= 3.13: pyenv's 3.13.0, its own venv.
PYTHON313 ?= $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.13.*/bin/python3.13) python3.13)
EMU       := .venv-emupos
STAMP_EMU := $(EMU)/.stamp
# The `emv` package (an independent reader the tests check our virtual card with) pins old
# pyscard and click: its own venv.
EMVV      := .venv-emv
STAMP_EMV := $(EMVV)/.stamp
# MicroPython search path: .frozen (asyncio and the other frozen modules; MICROPYPATH
# replaces the default path, so it must be named) + the repository root + device test helpers.
UPYPATH   := .frozen:$(CURDIR):$(CURDIR)/tests/device
APT_PKGS   = $(shell sed -e 's/\#.*//' deps/apt.txt)

# the QEMU target's firmware is MicroPython unless RUNTIME= says otherwise
RUNTIME   ?= $(if $(filter qemu,$(TARGET)),micropython,cpython)

.PHONY: sim setup test test-py test-upy lint gates demo bench qemu-image lock clean

sim: setup
	$(PY) -m tools.sim --runtime $(RUNTIME) $(if $(REGISTERS),--registers $(REGISTERS)) $(if $(HEADLESS),--headless) $(if $(CAMERA),--camera $(CAMERA)) $(if $(TARGET),--target $(TARGET)) $(if $(TSE),--tse $(TSE))


setup: $(STAMP_PIP) $(STAMP_APT) $(STAMP_EMU) $(STAMP_EMV)

$(STAMP_PIP): deps/requirements.lock | $(STAMP_APT)
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "need Python 3.11, got " + sys.version' \
		|| { echo "setup: $(PYTHON) is not Python 3.11 (set PYTHON=...)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r deps/requirements.lock
	@$(PY) -m pip check
	@touch $@

# Debian packages come first: pyscard builds from its sdist against swig and the PC/SC headers.
$(STAMP_APT): deps/apt.txt
	@missing=""; for p in $(APT_PKGS); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "setup: installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@mkdir -p $(VENV) && touch $@

$(STAMP_EMU): deps/emupos.lock
	@$(PYTHON313) -c 'import sys; assert sys.version_info >= (3, 13)' \
		|| { echo "setup: emupos needs Python >= 3.13 (set PYTHON313=...)"; exit 1; }
	@test -x $(EMU)/bin/python || $(PYTHON313) -m venv $(EMU)
	$(EMU)/bin/pip install --quiet --disable-pip-version-check -r deps/emupos.lock
	@touch $@

$(STAMP_EMV): deps/emv.lock | $(STAMP_APT)
	@test -x $(EMVV)/bin/python || $(PYTHON) -m venv $(EMVV)
	$(EMVV)/bin/pip install --quiet --disable-pip-version-check -r deps/emv.lock
	@touch $@

test: setup lint gates test-py test-upy

test-py: setup
	$(BIN)/pytest

test-upy: setup
	MICROPYPATH=$(UPYPATH) $(BIN)/micropython tests/upy_runner.py tests/device

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

gates: setup
	$(PY) -m tools.gates

demo: setup
	$(PY) -m tools.demo --runtime $(RUNTIME) $(if $(TARGET),--target $(TARGET)) $(if $(TSE),--tse $(TSE)) $(if $(REGISTERS),--registers $(REGISTERS))

bench: setup
	$(PY) -m tools.bench

qemu-image: setup
	$(PY) -m tools.qemu.image

lock:
	rm -rf $(VENV)-lock $(EMU)-lock $(EMVV)-lock
	$(PYTHON) -m venv $(EMVV)-lock
	$(EMVV)-lock/bin/pip install --quiet --disable-pip-version-check -r deps/emv.in
	{ echo "# Generated by 'make lock' from deps/emv.in; do not edit by hand."; \
	  $(EMVV)-lock/bin/pip freeze --all --exclude pip --exclude setuptools --exclude wheel; } > deps/emv.lock
	rm -rf $(EMVV)-lock
	$(PYTHON313) -m venv $(EMU)-lock
	$(EMU)-lock/bin/pip install --quiet --disable-pip-version-check -r deps/emupos.in
	{ echo "# Generated by 'make lock' from deps/emupos.in; do not edit by hand."; \
	  $(EMU)-lock/bin/pip freeze --all --exclude pip --exclude setuptools --exclude wheel; } > deps/emupos.lock
	rm -rf $(EMU)-lock
	$(PYTHON) -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet --disable-pip-version-check -r deps/requirements.in
	{ echo "# Generated by 'make lock' from deps/requirements.in; do not edit by hand."; \
	  $(VENV)-lock/bin/pip freeze --all --exclude pip --exclude setuptools --exclude wheel; } > deps/requirements.lock
	rm -rf $(VENV)-lock

clean:
	rm -rf $(VENV) $(VENV)-lock $(EMU) $(EMU)-lock $(EMVV) $(EMVV)-lock out .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
