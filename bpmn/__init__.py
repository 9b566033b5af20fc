"""The BPMN layer: what a diagram says (specs) and what an instance is doing (runs).

Nothing here knows about Flask or the database. The server hands in diagram bytes and stored
state, and gets back parsed definitions, serialized state and a description of what happened.
"""
