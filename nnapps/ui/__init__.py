"""Streamlit widgets and services shared by the pages (the only package that imports streamlit)."""
