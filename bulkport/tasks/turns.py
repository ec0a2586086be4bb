"""Where compiled code lets the import's other threads take the interpreter lock.

A thread that waits for the lock asks for it after the switch interval (1 ms during an
import's pipeline), and the interpreter's loop hands it over at its next check. Code compiled
by mypyc (setup.py) never runs that loop, so a compiled loop keeps the lock until it calls
into interpreted Python: measured, a thread waiting while batches were parsed got the lock
after 6.8 ms (median; 1.25 ms with the modules uncompiled), so the writer and the look-up
sat idle with their answers from PostgreSQL in hand.

This module is never compiled: calling ``give_way`` enters the interpreter's loop, which
hands the lock over if, and only if, another thread has asked for it.
"""

from __future__ import annotations

# Rows a compiled loop handles between two calls of ``give_way`` (a mask: every 64th row).
EVERY = 63


def give_way() -> None:
    """Let a thread that has waited its turn take the interpreter lock (else a no-op)."""
