"""Local files and URLs a spec points at: the URL policy, confinement and sniffing, media probing."""

from runner.inputs.assets import check_input, classify, resolve_local
from runner.inputs.media import probe_seconds, verify_output
from runner.inputs.paths import display_path, project_root
from runner.inputs.urlpolicy import check_url

__all__ = ["check_input", "check_url", "classify", "display_path", "probe_seconds", "project_root",
           "resolve_local", "verify_output"]
