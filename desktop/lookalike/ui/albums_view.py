"""Album comparison: two folders side by side (set similarity, matched pairs, what one side lacks),
and the folder pairs of the library that largely hold the same pictures."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lookalike.core.explore.albums import AlbumPair, Comparison, compare_folders, find_albums, in_catalog
from lookalike.core.scan.pipeline import Scanner
from lookalike.ui import format as fmt
from lookalike.ui.session import Session
from lookalike.ui.system import open_file


class AlbumsView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.loading = False
        self.result: Comparison | None = None
        self.album_pairs: list[AlbumPair] = []
        self.folder_a, self.folder_b = QLineEdit(), QLineEdit()
        self.folder_a.setPlaceholderText("Folder A (the album)")
        self.folder_b.setPlaceholderText("Folder B (a copy or backup)")
        self.compare_button = QPushButton("Compare")
        self.compare_button.clicked.connect(self.compare)
        self.find_button = QPushButton("Find Album Pairs")
        self.find_button.setToolTip("Look through the library for folders that largely hold the same pictures")
        self.find_button.clicked.connect(self.find_pairs)
        self.summary = QLabel("Choose two folders, or let Lookalike find folders that hold the same pictures.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)

        self.found = QTreeWidget()
        self.found.setHeaderLabels(["Overlap", "Folder A", "Folder B"])
        self.found.setRootIsDecorated(False)
        self.found.setAccessibleName("Folder pairs")
        self.found.itemActivated.connect(self.pick_pair)
        self.found.itemClicked.connect(self.pick_pair)
        self.pairs = QTreeWidget()
        self.pairs.setHeaderLabels(["Similarity", "In A", "In B"])
        self.pairs.setRootIsDecorated(False)
        self.pairs.setAccessibleName("Matched photos")
        self.pairs.itemDoubleClicked.connect(lambda item, column: open_file(item.toolTip(2 if column == 2 else 1)))
        self.only_a, self.only_b = QListWidget(), QListWidget()
        self.only_a.setAccessibleName("Only in A")
        self.only_b.setAccessibleName("Only in B")
        for listing in (self.only_a, self.only_b):
            listing.itemDoubleClicked.connect(lambda item: open_file(item.toolTip()))

        pickers = QGridLayout()
        for row, (label, edit) in enumerate((("A", self.folder_a), ("B", self.folder_b))):
            browse = QPushButton("Browse\u2026")
            browse.clicked.connect(lambda _=False, e=edit: self._browse(e))
            pickers.addWidget(QLabel(label), row, 0)
            pickers.addWidget(edit, row, 1)
            pickers.addWidget(browse, row, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.compare_button)
        buttons.addWidget(self.find_button)
        buttons.addStretch(1)
        sides = QSplitter()
        for title, widget in (("Matched photos", self.pairs), ("Only in A (missing from B)", self.only_a), ("Only in B", self.only_b)):
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(QLabel(title))
            column.addWidget(widget, 1)
            sides.addWidget(box)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(self.found)
        body.addWidget(sides)
        body.setSizes([160, 500])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(pickers)
        layout.addLayout(buttons)
        layout.addWidget(self.summary)
        layout.addWidget(body, 1)

    def _browse(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text() or str(Path.home()))
        if folder:
            edit.setText(folder)

    def _busy(self, text: str) -> None:
        self.loading = True
        self.compare_button.setEnabled(False)
        self.find_button.setEnabled(False)
        self.summary.setText(text)

    def _idle(self) -> None:
        self.loading = False
        self.compare_button.setEnabled(True)
        self.find_button.setEnabled(True)

    def compare(self) -> None:
        """Compare the two chosen folders; one not yet in the catalog is scanned first."""
        folders = [self.folder_a.text().strip(), self.folder_b.text().strip()]
        bad = next((f for f in folders if not f or not Path(f).expanduser().is_dir()), None)
        if bad is not None:
            self.summary.setText(f"<b>Not a folder:</b> {bad or '(empty)'}")
            return
        if self.loading:
            return
        self._busy("Comparing\u2026")
        session = self.session
        catalog, model_id, settings = session.catalog, session.model_id, session.settings

        def work(progress, cancel):  # type: ignore[no-untyped-def]
            unseen = [f for f in folders if not in_catalog(catalog, f)]
            if unseen:
                Scanner(catalog, session.embedders.get(), workers=settings.workers, excludes=settings.excludes,
                        skip_dirs=[session.thumbnails.directory]).run(unseen, progress, cancel)
            return compare_folders(catalog, model_id, folders[0], folders[1]), bool(unseen)

        session.run(work, self._compared, self._failed, lambda p: self.summary.setText(f"Scanning a new folder: {p.files_done} of {p.files_total or '?'} photos\u2026"))

    def _compared(self, outcome: tuple[Comparison, bool]) -> None:
        result, scanned = outcome
        self._idle()
        self.result = result
        self.summary.setText(
            f"Similarity <b>{fmt.percent(result.similarity_optimal)}</b> (optimal one-to-one matching; greedy "
            f"{fmt.percent(result.similarity_greedy)}) \u00b7 {len(result.pairs)} matched \u00b7 "
            f"<b>{len(result.only_a)}</b> only in A \u00b7 {len(result.only_b)} only in B"
        )
        self.pairs.clear()
        for a, b, similarity in result.pairs:
            item = QTreeWidgetItem([fmt.percent(similarity), Path(a).name, Path(b).name])
            item.setToolTip(1, a)
            item.setToolTip(2, b)
            self.pairs.addTopLevelItem(item)
        for listing, paths in ((self.only_a, result.only_a), (self.only_b, result.only_b)):
            listing.clear()
            for path in paths:
                listing.addItem(Path(path).name)
                listing.item(listing.count() - 1).setToolTip(path)
        if scanned:
            self.session.changed()

    def find_pairs(self) -> None:
        if self.loading:
            return
        self._busy("Looking for folders that hold the same pictures\u2026")
        catalog, model_id = self.session.catalog, self.session.model_id
        self.session.run(lambda _p, _c: find_albums(catalog, model_id), self._found, self._failed)

    def _found(self, pairs: list[AlbumPair]) -> None:
        self._idle()
        self.album_pairs = pairs
        self.found.clear()
        for pair in pairs:
            item = QTreeWidgetItem([fmt.percent(pair.overlap), pair.a, pair.b])
            item.setToolTip(0, f"{len(pair.comparison.pairs)} of {min(pair.size_a, pair.size_b)} photos matched")
            self.found.addTopLevelItem(item)
        self.summary.setText(f"{len(pairs)} folder pairs hold largely the same pictures; pick one to compare it."
                             if pairs else "No two folders hold largely the same pictures.")

    def pick_pair(self, item: QTreeWidgetItem) -> None:
        pair = self.album_pairs[self.found.indexOfTopLevelItem(item)]
        self.folder_a.setText(pair.a)
        self.folder_b.setText(pair.b)
        self._compared((pair.comparison, False))

    def _failed(self, message: str) -> None:
        self._idle()
        self.summary.setText(f"<b>Comparison failed:</b> {message}")
