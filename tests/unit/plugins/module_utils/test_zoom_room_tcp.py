"""The probe's "is the room on one of my own subnets" question: the one address helper of zoom_room_net."""

import pytest
from ansible_collections.zoomrooms.remediation.plugins.module_utils.zoom_room_tcp import in_connected_subnet

CONNECTED = ["10.89.1.7/24", "fd00:1::5/64"]


@pytest.mark.parametrize("address, inside", [
    ("10.89.1.20", True), ("10.89.2.20", False), ("fd00:1::99", True), ("fd00:2::99", False),
    ("room-01.example", False), ("", False),
], ids=["same v4 subnet", "other v4 subnet", "same v6 subnet", "other v6 subnet", "a name", "empty"])
def test_in_connected_subnet(address, inside):
    assert in_connected_subnet(address, CONNECTED) is inside


def test_no_connected_subnet_holds_nothing():
    assert in_connected_subnet("10.89.1.20", []) is False
