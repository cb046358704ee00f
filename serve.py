"""The dashboard's web server: ``streamlit run serve.py`` serves ``app.py`` with the graph
widget's files cached by the browser (:mod:`ui.asset_cache`). ``streamlit run app.py`` serves the
same pages without that cache."""

import streamlit as st
from starlette.middleware import Middleware

from ui.asset_cache import ComponentAssetCache

app = st.App("app.py", middleware=[Middleware(ComponentAssetCache)])
