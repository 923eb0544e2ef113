"""Example programs that use Bouquet from the outside, as a vendor's would."""
