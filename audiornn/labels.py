"""Labels: which files are which speaker, language or instrument, given three ways.

A dataset is labelled when its files are, in one of three ways:

- by input: ``{"en": "/recordings/en", "es": ["/recordings/es", "more.wav"]}``
  (the command line's ``NAME=PATH`` inputs);
- by folder (``labels="folders"``): each input folder's immediate sub-folders
  are the labels, ``speech/allison/a.wav`` -> ``allison``;
- by a list (``labels="list.csv"``, or any ``pathlib.Path``): rows of
  ``path,label``, paths relative to the list's folder (or absolute); an
  optional first row ``path,label``; UTF-8, a spreadsheet's byte-order mark
  allowed. A list named ``folders`` is given as a ``Path``: only the string
  ``"folders"`` means by folder, and the command line passes its ``--labels``
  file as a ``Path``, so a file's name never changes what a flag means.

Every file must get a label once one does: a file without one is an error
that names it, as is an empty label name.
"""

import csv
import os
import unicodedata
from pathlib import Path

from .audio_io import find_audio_files
from .errors import DatasetError, ParameterError

__all__ = ["FOLDERS", "check_label_name", "labelled_files", "parse_named_inputs"]

FOLDERS = "folders"
MAX_LABEL_BYTES = 100


def check_label_name(name, where):
    """``name`` stripped, if it is a usable label name; else a ParameterError naming ``where``."""
    if not isinstance(name, str):
        raise ParameterError(f"{where}: the label {name!r} is of type {type(name).__name__}: label names are text")
    if not name.strip():
        raise ParameterError(f"{where}: the label is empty: give every file a label name")
    try:
        name.encode()
    except UnicodeEncodeError:  # a folder's name in another encoding (Latin-1), held with surrogates
        raise ParameterError(f"{where}: the label {name.encode(errors='surrogateescape')!r} is not UTF-8 text: rename "
                             f"it in UTF-8 (convmv -f latin1 -t utf8 --notest NAME renames a folder)") from None
    name = unicodedata.normalize("NFC", name.strip())  # one form: a macOS folder's name is decomposed (NFD)
    if len(name.encode()) > MAX_LABEL_BYTES:
        raise ParameterError(f"{where}: the label '{name[:40]}...' is {len(name.encode())} bytes long: choose a name "
                             f"of at most {MAX_LABEL_BYTES} (it names files and columns)")
    if any(character in name for character in "/\\\n\r\t") or name in (".", ".."):
        raise ParameterError(f"{where}: the label {name!r} has a path separator or a line break: choose a name "
                             f"without one (it names files and columns)")
    if "," in name:
        raise ParameterError(f"{where}: the label '{name}' has a comma, which separates labels on the command "
                             f"line (--label a,b): choose a name without one")
    return name


def parse_named_inputs(inputs):
    """Command-line inputs, some written ``NAME=PATH``: a dict ``{name: [paths]}``, or the list unchanged.

    A token that exists as a path is a path even if it holds ``=``. Mixing
    named and unnamed inputs is refused, naming an unnamed one.
    """
    named, plain = {}, []
    for token in inputs:
        name, separator, path = str(token).partition("=")
        if separator and not Path(token).expanduser().exists() and "/" not in name:
            named.setdefault(check_label_name(name, f"input '{token}'"), []).append(path)
        else:
            plain.append(token)
    if named and plain:
        raise ParameterError(f"input '{plain[0]}' has no label while others are given as NAME=PATH: label "
                             f"every input (NAME=PATH), or none")
    return named or list(inputs)


def labelled_files(inputs, labels=None, other_formats=None, exclude=None):
    """The audio files of ``inputs`` with their labels: ``(files, names)``.

    ``files`` is a list of ``(path, name, label)``: ``name`` is the path
    relative to its input (what the validation split hashes), ``label`` the
    label name, or None for an unlabelled dataset. ``names`` are the label
    names, sorted (empty without labels). ``other_formats`` and ``exclude``: as
    :func:`audiornn.audio_io.find_audio_files` takes them.
    """
    if isinstance(inputs, dict):
        if labels is not None:
            raise ParameterError("labels are given twice: by NAME=PATH inputs and by labels="
                                 f"{labels!r}; use one way")
        files = []
        for label, paths in inputs.items():
            label = check_label_name(label, f"input {label!r}")
            paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
            files += [(path, name, label) for path, name in find_audio_files(paths, other_formats, exclude)]
        return _unique(files)
    if labels is None:
        return [(path, name, None) for path, name in find_audio_files(inputs, other_formats, exclude)], []
    if isinstance(labels, str) and labels == FOLDERS:
        return _unique(_by_folder(inputs, other_formats, exclude))
    if not isinstance(labels, (str, os.PathLike)):
        raise ParameterError(f"labels is {FOLDERS!r} or the path of a CSV list of files and labels, got {labels!r}")
    return _unique(_by_list(inputs, Path(labels).expanduser(), other_formats, exclude))


def _by_folder(inputs, other_formats=None, exclude=None):
    inputs = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    files = []
    for entry in inputs:
        folder = Path(entry).expanduser()
        if folder.is_file():
            raise ParameterError(f"input '{entry}' is a file: labels by folder take folders whose sub-folders "
                                 f"are the labels (or label it as NAME={entry})")
        found = find_audio_files([folder], other_formats, exclude)
        for path, name in found:
            relative = path.relative_to(folder)
            if len(relative.parts) < 2:
                raise DatasetError(f"'{path}' is directly in '{folder}', in no label's sub-folder: move it "
                                   f"into one (labels by folder: {folder}/LABEL/...), or leave it out")
            files.append((path, name, check_label_name(relative.parts[0], f"'{path}'")))
    return files


def _by_list(inputs, table, other_formats=None, exclude=None):
    if table.is_dir():
        raise ParameterError(f"label list '{table}' is a folder: give a CSV file of path,label rows (or label by "
                             f"folder with --labels-from-folders)")
    if not table.is_file():
        raise ParameterError(f"label list '{table}' does not exist: give a CSV file of path,label rows"
                             + (" (or label by folder: --labels-from-folders, labels=\"folders\")"
                                if table.name.lower().startswith("folder") else ""))
    listed, lines, given = {}, {}, {}
    try:
        with open(table, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError as error:
        raise DatasetError(f"label list '{table}' is not UTF-8 text ({error.reason} at byte {error.start}): save it "
                           f"as CSV UTF-8") from None
    except csv.Error as error:
        raise DatasetError(f"label list '{table}' is not a CSV file ({error})") from None
    for number, row in enumerate(rows, start=1):
        if not row or not "".join(row).strip() or (number == 1 and [cell.strip().lower() for cell in row]
                                                   == ["path", "label"]):
            continue
        if len(row) != 2:
            raise DatasetError(f"label list '{table}', line {number}: expected path,label, got {row!r}")
        path = Path(row[0].strip()).expanduser()
        path = path if path.is_absolute() else table.parent / path
        key, label = os.path.realpath(path), check_label_name(row[1], f"label list '{table}', line {number}")
        if listed.get(key, label) != label:
            raise DatasetError(f"label list '{table}': '{row[0].strip()}' is given two labels, '{listed[key]}' "
                               f"(line {lines[key]}) and '{label}' (line {number}): give it one")
        listed[key], lines[key], given[key] = label, number, (row[0].strip(), path)
    if not listed:
        raise DatasetError(f"label list '{table}' has no path,label rows")
    if not inputs:  # the list's rows are the inputs: one that is not there is said with its line
        for key, (written, path) in given.items():
            if not path.exists():
                relative = "" if Path(written).expanduser().is_absolute() else \
                    f", read beside the list: '{path}' (a row's path is taken from the list's folder)"
                raise DatasetError(f"label list '{table}', line {lines[key]}: '{written}' does not exist{relative}: "
                                   f"correct the row, or remove it")
        inputs = [path for path in listed]
    files = []
    for path, name in find_audio_files(inputs, other_formats, exclude):
        # A file's own row, or else the row of the nearest folder above it (a row may name a folder): above the
        # file as found, or above where it really lies (a link into git-annex's or DVC's store)
        found = Path(os.path.abspath(path))
        places = [os.path.realpath(place) for place in (found, *found.parents)] + [
            str(place) for place in Path(os.path.realpath(path)).parents]
        label = next((listed[place] for place in places if place in listed), None)
        if label is None:
            row = Path(os.path.relpath(found, Path(os.path.abspath(table)).parent)).as_posix()  # as a row reads
            raise DatasetError(f"'{path}' has no label in '{table}': add a row '{row},LABEL' for it (a row's path is "
                               f"taken from the list's folder), or leave it out of the inputs")
        files.append((path, name, label))
    return files


def _unique(files):
    if not files:
        raise DatasetError("no audio files among the inputs")
    seen = {}
    for path, _, label in files:
        key = os.path.realpath(path)
        if key in seen and seen[key] != label:
            raise DatasetError(f"'{path}' is given two labels, '{seen[key]}' and '{label}': give it one")
        seen[key] = label
    return files, sorted({label for _, _, label in files})
