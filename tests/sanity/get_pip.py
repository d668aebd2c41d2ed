"""Stand-in for get-pip.py, which ansible-test downloads from ci-files.testing.ansible.com to put pip
into each sanity test's virtual environment. That host is not reachable from every CI runner; PyPI is.

ansible-test runs this file as __main__ with pip's install arguments (for example `pip==24.2
--no-setuptools`). It installs the pip that ships with Python (ensurepip), then lets that pip
install what ansible-test asked for from the package index; get-pip.py's own options
(--no-setuptools, --no-wheel) only mean "do not add these", so they are dropped. `make sanity` copies it into the
ansible-test cache of the sanity run's own home directory, never into the user's.
"""

import subprocess
import sys

GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}

if __name__ == "__main__":
    # In a child process: ensurepip.bootstrap() points PIP_CONFIG_FILE at /dev/null for the rest of
    # the process, which would hide the machine's pip configuration (index, CA bundle) from the install.
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
    arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY_OPTIONS]
    subprocess.check_call([sys.executable, "-m", "pip", "install", *arguments])
