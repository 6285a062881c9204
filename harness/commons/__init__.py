"""What every lab and benchmark shares; imports no lab."""
