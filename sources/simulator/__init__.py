"""The council simulator: a synthetic borough seen through its source systems."""
