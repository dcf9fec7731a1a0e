#!/usr/bin/env bash
# Install the default card fonts (Noto: Latin, Cyrillic, Arabic, CJK, colour emoji) and the
# libraries Pillow needs for complex text layout (raqm: fribidi + harfbuzz). Idempotent:
# packages already present are not reinstalled. Run as root (or with sudo available).
set -euo pipefail

PKGS=(fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji libfribidi0 libharfbuzz0b libraqm0)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  echo "install-fonts: installing ${missing[*]}"
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-fonts: all font packages present"
fi

# Check that Pillow (in the project venv when there is one) has raqm for RTL/CJK shaping.
HERE="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$HERE/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
if "$PY" -c "import PIL" 2>/dev/null; then
  if ! "$PY" -c "import sys, PIL.features as f; sys.exit(0 if f.check('raqm') else 1)"; then
    echo "install-fonts: Pillow has no raqm support (needs libfribidi0 + libharfbuzz0b);" \
         "Arabic and CJK cards cannot be shaped" >&2
    exit 1
  fi
  echo "install-fonts: Pillow raqm OK"
fi
