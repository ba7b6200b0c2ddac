"""The demo campaign, written as the platforms' own export files: ``campaign`` writes the whole
six-week campaign (`reach demo`), ``live`` plays its last day as if it were happening now
(`reach demo --live`). Both only produce what the collectors read (native export files and a roster
CSV), so they live beside the collectors and, like them, never import the dashboard.
"""
