"""Make the project's module_utils importable as ansible.module_utils.<name>, as ansible does on hosts."""

from pathlib import Path

import ansible.module_utils

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_MODULE_UTILS = str(PROJECT_ROOT / "plugins" / "module_utils")
if _MODULE_UTILS not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(_MODULE_UTILS)
