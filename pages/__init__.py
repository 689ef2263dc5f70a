"""The pages: one script per page (run by st.navigation) and _runtime, their glue to the services."""
