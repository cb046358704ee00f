"""The dashboard's web server: ``streamlit run serve.py`` serves ``app.py`` with its vendored
scripts kept by the browser (:mod:`ui.asset_cache`). ``streamlit run app.py`` serves the same pages
without that cache."""

import streamlit as st
from starlette.middleware import Middleware

from ui.asset_cache import VendorAssetCache

app = st.App("app.py", middleware=[Middleware(VendorAssetCache)])
