"""MovieLens files, one idea per module: ``layouts`` (the three layouts and which one a folder
holds), ``readers`` (a file's numbered lines, its chunks and its digest), ``validation``
(each line's outcome: a record, or the Reason it was rejected) and ``tables`` (the movie and
user tables with their FileReport)."""
