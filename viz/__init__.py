"""Pure functions from tensors and numbers to plotly figures. No streamlit here."""
