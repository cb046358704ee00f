"""The case network: one GraphStore protocol, an embedded and a Neo4j backend, graph features."""
