"""The bottom floor: what stages, libraries and the runner share, importing none of them.

Rooms above may import `thresher.core`; `thresher.core` imports only third-party packages, `thresher.errors` and
`thresher.schema`.
"""
