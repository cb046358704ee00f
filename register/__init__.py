"""The case register: the system of record of persons, disputes, batches and people's decisions."""
