# Source me: `source bin/activate-tinytorch.sh`
# Creates the virtual environment on first use (the course set-up: the course, nbgrader and the book
# tools, never PyTorch; bin/test adds the test tools), activates it, puts `tito` on PATH and every module
# folder on the import path, so `from optimizers_dev import SGD` works from any folder.
_tt_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
if "$_tt_root/bin/setup-venv"; then
    # shellcheck disable=SC1091
    source "$_tt_root/.venv/bin/activate"
    for _tt_dir in "$_tt_root"/modules/source/[0-9][0-9]_*/; do
        case ":${PYTHONPATH:-}:" in *":${_tt_dir%/}:"*) ;; *) PYTHONPATH="${_tt_dir%/}${PYTHONPATH:+:$PYTHONPATH}" ;; esac
    done
    export PYTHONPATH
    echo "TinyTorch environment active: tito is on PATH, module sources are importable (try: tito doctor)"
else
    echo "activate-tinytorch: setting up .venv failed (see above)" >&2
fi
unset _tt_root _tt_dir
