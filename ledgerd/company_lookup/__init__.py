"""Company lookup: resolve names, domains and messy bank descriptors to real companies.

`CompanyLookup` is the interface the platform's tools depend on. `OfflineCompanyDirectory`
implements it over the bundled `companies.csv` (public facts about a few hundred well-known
companies): an offline, deterministic stand-in for a networked company-data provider such as a
Clearbit-like API, which can replace it behind the same protocol.

    directory = OfflineCompanyDirectory()
    [best, *_] = await directory.lookup("SQ *BLUE BOTTLE COFF OAKLAND CA")
    best.record.name, best.score   # ("Blue Bottle Coffee", 1.0)

Scores are 0..1: above about 0.8 the query names the company; below about 0.5 it merely
shares a word with it.
"""

from ledgerd.company_lookup._directory import (
    OfflineCompanyDirectory,
    all_companies,
    normalize_descriptor,
)
from ledgerd.company_lookup._models import CompanyLookup, CompanyMatch, CompanyRecord

__all__ = [
    "CompanyLookup",
    "CompanyMatch",
    "CompanyRecord",
    "OfflineCompanyDirectory",
    "all_companies",
    "normalize_descriptor",
]
