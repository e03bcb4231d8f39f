"""Constants only the simulator needs: exposure times, saturation and the OpenUniverse zero point.

The formats it writes (file names, columns, zero points per band) are in ``rapid_croissant.formats``.
"""

from __future__ import annotations

import math

#: Roman collecting area in cm^2 used by the OpenUniverse simulator: ZPTMAG = 2.5 log10(EXPTIME * area).
COLLECTING_AREA_CM2 = 37570.0

#: Typical exposure times (s) of the Roman TDS (H158 302 s; F184/K213 901 s).
EXPTIME_TYPICAL = {
    "R062": 161.0,
    "Z087": 101.0,
    "Y106": 302.0,
    "J129": 302.0,
    "H158": 302.0,
    "F184": 901.0,
    "K213": 901.0,
}

#: Saturation level in DN used by RAPID for OU data; NaN inputs become SATURATION_DN / EXPTIME (§2.2).
SATURATION_DN = 100000.0


def zptmag_from_exptime(exptime: float) -> float:
    """ZPTMAG as the OpenUniverse simulator writes it: 2.5 log10(EXPTIME * collecting area) (§2.3)."""
    return 2.5 * math.log10(exptime * COLLECTING_AREA_CM2)
