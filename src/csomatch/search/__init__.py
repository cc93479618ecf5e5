"""The registry search: services near a point or an area, answered from SQL or from memory."""
