"""Identity and access. This issue holds the caller and the policy table; accounts come next."""
