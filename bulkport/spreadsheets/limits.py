"""The read limits, where the XLSX reader imports them from (they live in ``bulkport.limits``)."""

from __future__ import annotations

from bulkport.limits import DEFAULT_LIMITS as DEFAULT_LIMITS
from bulkport.limits import ReadLimits as ReadLimits
