"""Credit records, blacklist and joint sanctions, deposit negative list (issue: credit)."""
