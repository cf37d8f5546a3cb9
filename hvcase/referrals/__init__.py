"""Community resources and the closed-loop referral."""
