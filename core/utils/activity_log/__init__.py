"""The activity log's machinery: who is acting (context), canonical hashing
and sealing of each lab's chain, and verification."""
