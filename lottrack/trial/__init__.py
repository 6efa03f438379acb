"""The trial pharmacy and the ward: allocation, visits, dispensing, infusion, blinding."""
