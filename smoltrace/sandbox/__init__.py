"""What keeps user input and agent code from acting on the host.

`templates`: prompt templates may only insert variables, loop and branch (checked before smolagents
renders them with its unsandboxed Jinja); `imports`: host-access modules need `--allow-host-access`;
`executor`: a CodeAgent's code runs in a child process that is killed at its time limit.
"""

from .imports import HOST_ACCESS_MODULES, check_imports, host_access_imports
from .templates import check_prompt_templates, check_template

__all__ = [
    "HOST_ACCESS_MODULES",
    "check_imports",
    "check_prompt_templates",
    "check_template",
    "host_access_imports",
]
