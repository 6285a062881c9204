"""Everything that exists to test or measure the product (see the README's layout table)."""
