"""The Zoom API options of zoom_rooms_api: connection, credentials, pacing and the rooms to read."""

from __future__ import annotations


class ModuleDocFragment:
    # Kept apart from the module's own options (changes, background reads); the zoom_rooms inventory
    # plugin documents the same settings in its own, inventory-source form.
    DOCUMENTATION = r"""
options:
  base_url:
    description: Zoom REST API base URL; default C(https://api.zoom.us/v2) or C(ZOOM_API_BASE_URL).
    type: str
  token_url:
    description: OAuth token URL; default C(https://zoom.us/oauth/token) or C(ZOOM_OAUTH_TOKEN_URL).
    type: str
  account_id:
    description: Server-to-Server OAuth app account ID; default C(ZOOM_ACCOUNT_ID).
    type: str
  client_id:
    description: Server-to-Server OAuth app client ID; default C(ZOOM_CLIENT_ID).
    type: str
  client_secret:
    description: Server-to-Server OAuth app client secret; default C(ZOOM_CLIENT_SECRET). Never returned or logged.
    type: str
  ca_bundle:
    description: PEM file of CA certificates to trust instead of the system store.
    type: path
  timeout:
    description: Seconds to wait for each HTTP response.
    type: float
    default: 30
  max_attempts:
    description: Attempts per request on per-second rate limits, server errors and (for reads) timeouts.
    type: int
    default: 5
  max_requests_per_second:
    description: Client-side pacing; C(0) disables it. Rooms endpoints are category Medium (Pro 20/s).
    type: float
    default: 10
  max_workers:
    description: Rooms read in parallel.
    type: int
    default: 4
  room_ids:
    description:
      - Zoom room ids (C(zoom_room_id) from the inventory) to work on.
      - Omitted or null means every room of the account (unless I(room_names) is given); an empty list means none.
      - Ids the account does not have are listed in RV(missing_room_ids).
    type: list
    elements: str
  room_names:
    description:
      - Read also every room of the account with one of these names (every room of a name, so that a name
        two rooms share stays visible as such). The account is listed, and devices are read for those rooms
        only, not for the whole account.
      - For reads only; the options that change rooms (I(app_version_action), I(regenerate_activation_code),
        I(restart)) take I(room_ids) alone.
      - The zoom_room_diagnose role passes the names of its batch's rooms whose id is not known yet.
    type: list
    elements: str
"""
