"""The lab's load for Locust: scenarios, the rate profile's engine and its verdicts, shapes and recorders.

locustfile.py is the entry point Locust is given; it wires these modules to Locust's events.
"""
