"""pytest plugin of flowview_async (registered through the ``pytest11`` entry point).

Fixtures, markers and options are added here as the parts land; importing this module must stay
cheap and must not import the SDK eagerly.
"""

from __future__ import annotations
