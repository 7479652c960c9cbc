"""Streamlit helpers shared by the pages: cached resources, the sidebar, and HTML rendering."""
