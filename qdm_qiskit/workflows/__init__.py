"""Workflows that combine the rooms below: train, sample, compare, and ``qdm run``.

- :mod:`~qdm_qiskit.workflows.quantum`: ``qdm train`` / ``qdm sample`` of the quantum families;
- :mod:`~qdm_qiskit.workflows.references`: the classical DDPM/DDIM references on a run's jets;
- :mod:`~qdm_qiskit.workflows.compare`: sets -> metrics -> report (``qdm compare``);
- :mod:`~qdm_qiskit.workflows.run`: the main job, ``qdm run``.

Nothing below this room imports it: ``models`` holds the quantum families only and
``baseline`` the classical networks only.
"""
