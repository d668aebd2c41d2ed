"""Make the collection importable as users import it: ansible_collections.zoomrooms.remediation.

The checkout is the collection; .ansible/collections/ansible_collections/zoomrooms/remediation links
to it (created by `make`, and here when pytest runs without make). Only tests put it on sys.path;
ansible finds it through ansible.cfg's collections_path.
"""

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = PROJECT_ROOT / ".ansible" / "collections"
_LINK = COLLECTIONS / "ansible_collections" / "zoomrooms" / "remediation"
if not _LINK.exists():
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    _LINK.symlink_to(Path("..", "..", "..", ".."), target_is_directory=True)
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
