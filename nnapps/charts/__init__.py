"""Altair chart builders: plain data in, chart out (no Streamlit here)."""
