"""Review: the tiers of groups a person sees, which copy to keep and why, and the
decisions they have made."""
