"""Streamlit helpers shared by the pages: the sidebar, cached models, per-session state."""
