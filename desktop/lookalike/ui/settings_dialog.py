"""Preferences: model and device (with the provider really in use), thresholds, exclusions,
which copy to keep, what deleting does, and where the catalog lives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lookalike.core.review import keeprules
from lookalike.core.config import Settings
from lookalike.core.paths import catalog_location, models_dir
from lookalike.ui.review_actions import undoable
from lookalike.ui.session import Session

DEVICES = [("auto", "Automatic (GPU when available)"), ("cpu", "CPU"), ("cuda", "NVIDIA GPU (CUDA)")]


def provider_text(provider: str | None) -> str:
    if provider is None:
        return "not loaded yet"
    if provider.startswith("CUDA"):
        return f"NVIDIA GPU (CUDA) \u2014 {provider}"
    return f"CPU \u2014 {provider}"


def _list_box(title: str, items: QListWidget, buttons: list[QPushButton], note: str = "") -> QGroupBox:
    """A titled list with its buttons in a row below (and a note, when given)."""
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    if note:
        layout.addWidget(QLabel(note))
    layout.addWidget(items)
    row = QHBoxLayout()
    for button in buttons:
        row.addWidget(button)
    row.addStretch(1)
    layout.addLayout(row)
    return box


def _move_buttons(items: QListWidget) -> list[QPushButton]:
    """Move Up / Move Down for a list whose order matters (dragging rows works too)."""
    items.setDragDropMode(QListWidget.DragDropMode.InternalMove)
    buttons = []
    for text, step in (("Move Up", -1), ("Move Down", 1)):
        button = QPushButton(text)
        button.clicked.connect(lambda _=False, s=step: _move_current(items, s))
        buttons.append(button)
    return buttons


def _move_current(items: QListWidget, step: int) -> None:
    row = items.currentRow()
    if row < 0 or not 0 <= row + step < items.count():
        return
    items.insertItem(row + step, items.takeItem(row))
    items.setCurrentRow(row + step)


def _texts(items: QListWidget) -> list[str]:
    return [items.item(i).text() for i in range(items.count())]


def _remove_button(items: QListWidget) -> QPushButton:
    button = QPushButton("Remove")
    button.clicked.connect(lambda: [items.takeItem(items.row(i)) for i in items.selectedItems()])
    return button


def _fill_rules(items: QListWidget, saved: list[str]) -> None:
    """Every keep rule, the saved ones first (checked, in their order), the unused ones after."""
    try:
        used = keeprules.normalise_rules(saved)
    except ValueError:  # a hand-edited settings file names an unknown rule: offer the defaults
        used = list(keeprules.DEFAULT_RULES)
    items.clear()
    for name in [*used, *(n for n in keeprules.RULES if n not in used)]:
        item = QListWidgetItem(keeprules.RULES[name].label)
        item.setData(Qt.ItemDataRole.UserRole, name)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if name in used else Qt.CheckState.Unchecked)
        items.addItem(item)


def _path_row(edit: QLineEdit, browse: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(browse)
    return row


class SettingsDialog(QDialog):
    """Edits a copy of the settings; `result_settings()` and `catalog_location()` after Accept."""

    def __init__(self, session: Session, catalog: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Lookalike Settings")
        self.session = session
        settings = session.settings

        self.model = QComboBox()
        self.model.setEditable(False)
        for manifest in sorted(models_dir().glob("*.json")):
            self.model.addItem(manifest.stem, manifest.stem)
        if self.model.findData(settings.model) < 0:
            self.model.addItem(Path(settings.model).name, settings.model)
        self.model.setCurrentIndex(self.model.findData(settings.model))
        model_browse = QPushButton("Other\u2026")
        model_browse.setToolTip("Use another ONNX model described by a manifest (.json)")
        model_browse.clicked.connect(self._choose_manifest)
        self.device = QComboBox()
        for value, label in DEVICES:
            self.device.addItem(label, value)
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))
        self.provider = QLabel()
        self.provider.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.workers = QSpinBox()
        self.workers.setRange(1, 32)
        self.workers.setValue(settings.workers)
        self.workers.setToolTip("Threads decoding photos during a scan")

        model_box = QGroupBox("Model")
        form = QFormLayout(model_box)
        model_row = QWidget()
        row = QHBoxLayout(model_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.model, 1)
        row.addWidget(model_browse)
        form.addRow("Model:", model_row)
        form.addRow("Run on:", self.device)
        form.addRow("In use:", self.provider)
        form.addRow("Decoder threads:", self.workers)

        self.duplicate = self._threshold(settings.duplicate_threshold, "Photos at least this alike are duplicates")
        self.similar = self._threshold(settings.similar_threshold, "Photos at least this alike are similar")
        thresholds = QGroupBox("Default thresholds")
        form = QFormLayout(thresholds)
        form.addRow("Duplicates:", self.duplicate)
        form.addRow("Similar:", self.similar)

        self.excludes = QListWidget()
        self.excludes.addItems(settings.excludes)
        self.excludes.setMaximumHeight(90)
        add_folder = QPushButton("Add Folder\u2026")
        add_folder.clicked.connect(self._exclude_folder)
        add_pattern = QPushButton("Add Pattern\u2026")
        add_pattern.setToolTip("A glob on full paths, e.g. */thumbnails/* or *.gif")
        add_pattern.clicked.connect(self._exclude_pattern)
        excludes_box = _list_box("Excluded folders and patterns", self.excludes, [add_folder, add_pattern, _remove_button(self.excludes)])

        rules_box, preferred_box = self._keep_boxes(settings)
        deletion = self._deletion_box(settings)

        self._shown_catalog = catalog
        self.catalog = QLineEdit(catalog)
        self.catalog.setToolTip("A catalog file, or a PostgreSQL server: postgresql://user:password@host/database")
        catalog_browse = QPushButton("Browse\u2026")
        catalog_browse.clicked.connect(self._choose_catalog)
        catalog_box = QGroupBox("Catalog")
        layout = QVBoxLayout(catalog_box)
        layout.addWidget(_path_row(self.catalog, catalog_browse))

        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel | QDialogButtonBox.StandardButton.RestoreDefaults)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        box.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._restore_defaults)

        columns = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(model_box)
        left.addWidget(thresholds)
        left.addWidget(catalog_box)
        left.addWidget(excludes_box)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(rules_box)
        right.addWidget(preferred_box)
        right.addWidget(deletion)
        right.addStretch(1)
        columns.addLayout(left, 1)
        columns.addLayout(right, 1)
        main = QVBoxLayout(self)
        main.addLayout(columns)
        main.addWidget(box)
        self._probe_provider()

    def _keep_boxes(self, settings: Settings) -> tuple[QGroupBox, QGroupBox]:
        """The keep rules in their order of importance, and the preferred folders they may use."""
        self.rules = QListWidget()
        self.rules.setAccessibleName("Keep rules")
        self.rules.setToolTip("The first rule on which two copies differ decides; unchecked rules are not used")
        _fill_rules(self.rules, settings.keep_rules)
        frame = 2 * self.rules.frameWidth()
        self.rules.setMinimumSize(self.rules.sizeHintForColumn(0) + frame + 4, self.rules.sizeHintForRow(0) * self.rules.count() + frame)
        rules_box = _list_box(
            "Choosing the copy to keep", self.rules, _move_buttons(self.rules),
            "Most important first (drag, or Move Up / Move Down):",
        )
        self.preferred = QListWidget()
        self.preferred.setAccessibleName("Preferred folders")
        self.preferred.addItems(settings.preferred_folders)
        self.preferred.setMaximumHeight(90)
        add_preferred = QPushButton("Add Folder\u2026")
        add_preferred.clicked.connect(self._prefer_folder)
        preferred_box = _list_box(
            "Preferred folders", self.preferred, [add_preferred, _remove_button(self.preferred), *_move_buttons(self.preferred)],
            "Keep copies in these folders first (the first folder most):",
        )
        return rules_box, preferred_box

    def _deletion_box(self, settings: Settings) -> QGroupBox:
        """Trash, quarantine folder or permanent deletion, and what Undo can bring back."""
        self.trash = QRadioButton("Move to the system trash")
        self.quarantine = QRadioButton("Move to a quarantine folder:")
        self.permanent = QRadioButton("Delete permanently (cannot be undone; asks twice)")
        self.modes = {"trash": self.trash, "quarantine": self.quarantine, "permanent": self.permanent}
        group = QButtonGroup(self)
        for button in self.modes.values():
            group.addButton(button)
        self.modes.get(settings.deletion_mode, self.trash).setChecked(True)
        self.quarantine_dir = QLineEdit(settings.quarantine_dir)
        self.quarantine_dir.setPlaceholderText("choose a folder")
        quarantine_browse = QPushButton("Browse\u2026")
        quarantine_browse.clicked.connect(lambda: self._choose_dir(self.quarantine_dir))
        deletion = QGroupBox("Removing photos")
        layout = QVBoxLayout(deletion)
        layout.addWidget(self.trash)
        layout.addWidget(self.quarantine)
        layout.addWidget(_path_row(self.quarantine_dir, quarantine_browse))
        layout.addWidget(self.permanent)
        self.merge_metadata = QCheckBox("Save the date taken and GPS of removed copies beside the kept copy (XMP)")
        self.merge_metadata.setChecked(settings.merge_metadata)
        self.merge_metadata.setToolTip("Written before removing, only where the kept copy lacks them; never replaces a sidecar")
        layout.addWidget(self.merge_metadata)
        undone = "the trash or quarantine" if undoable("trash") else "quarantine (trashed photos: from the system Trash)"
        layout.addWidget(QLabel(f"Edit \u25b8 Undo (Ctrl+Z) brings a batch back from {undone}.\nPermanent deletion cannot be undone."))
        return deletion

    def _threshold(self, value: float, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(0.5, 1.0)
        spin.setSingleStep(0.01)
        spin.setDecimals(2)
        spin.setValue(value)
        spin.setToolTip(tip)
        return spin

    def _probe_provider(self) -> None:
        """Load the model in a worker (if it is not yet) to show the provider really in use."""
        loaded = self.session.embedders.loaded()
        if loaded is not None:
            self.provider.setText(provider_text(loaded.provider))
            return
        self.provider.setText("loading the model\u2026")
        embedders = self.session.embedders
        self.session.run(lambda _p, _c: embedders.get().provider, on_done=self._provider_loaded, on_error=self._provider_failed)

    def _provider_loaded(self, provider: str) -> None:
        self.provider.setText(provider_text(provider))

    def _provider_failed(self, message: str) -> None:
        self.provider.setText(f"cannot load: {message}")

    def _choose_manifest(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model manifest", str(models_dir()), "Model manifests (*.json)")
        if path:
            self.model.addItem(Path(path).name, path)
            self.model.setCurrentIndex(self.model.count() - 1)

    def _choose_dir(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text())
        if folder:
            edit.setText(folder)

    def _exclude_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Exclude a folder")
        if folder:
            self.excludes.addItem(str(Path(folder) / "*"))

    def _prefer_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Prefer copies in a folder")
        if folder:
            folders = keeprules.normalise_folders([*_texts(self.preferred), folder])
            self.preferred.clear()
            self.preferred.addItems(folders)

    def _exclude_pattern(self) -> None:
        pattern, ok = QInputDialog.getText(self, "Exclude a pattern", "Glob on full paths (e.g. */.thumbnails/*):")
        if ok and pattern.strip():
            self.excludes.addItem(pattern.strip())

    def _choose_catalog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Catalog file", self.catalog.text(), "Lookalike catalog (*.sqlite)",
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if path:
            self.catalog.setText(path)

    def _restore_defaults(self) -> None:
        defaults = Settings()
        self.model.setCurrentIndex(max(0, self.model.findData(defaults.model)))
        self.device.setCurrentIndex(self.device.findData(defaults.device))
        self.workers.setValue(defaults.workers)
        self.duplicate.setValue(defaults.duplicate_threshold)
        self.similar.setValue(defaults.similar_threshold)
        _fill_rules(self.rules, defaults.keep_rules)
        self.trash.setChecked(True)
        self.merge_metadata.setChecked(defaults.merge_metadata)

    def keep_rules(self) -> list[str]:
        """The checked rules in the order shown; empty (follow the defaults, even as they
        improve) when that is the default order."""
        items = [self.rules.item(i) for i in range(self.rules.count())]
        names = keeprules.normalise_rules(i.data(Qt.ItemDataRole.UserRole) for i in items if i.checkState() == Qt.CheckState.Checked)
        return [] if names == keeprules.DEFAULT_RULES else names

    def deletion_mode(self) -> str:
        return next(mode for mode, button in self.modes.items() if button.isChecked())

    def result_settings(self) -> Settings:
        return dataclasses.replace(
            self.session.settings,
            model=self.model.currentData(),
            device=self.device.currentData(),
            workers=self.workers.value(),
            duplicate_threshold=round(self.duplicate.value(), 2),
            similar_threshold=round(self.similar.value(), 2),
            excludes=_texts(self.excludes),
            deletion_mode=self.deletion_mode(),
            quarantine_dir=self.quarantine_dir.text().strip(),
            merge_metadata=self.merge_metadata.isChecked(),
            keep_rules=self.keep_rules(),
            preferred_folders=keeprules.normalise_folders(_texts(self.preferred)),
        )

    def catalog_location(self) -> Path | str:
        """The catalog chosen: a file, or a `postgresql://` URL."""
        return catalog_location(self.catalog.text())

    def catalog_changed(self) -> bool:
        """Whether another catalog was typed (a server's is shown with its password hidden:
        left as it is, it stays the catalog open now)."""
        return self.catalog.text().strip() != self._shown_catalog

    def accept(self) -> None:
        if self.quarantine.isChecked() and not self.quarantine_dir.text().strip():
            self.quarantine_dir.setFocus()
            self.quarantine_dir.setPlaceholderText("a quarantine folder is needed")
            return
        if not any(self.rules.item(i).checkState() == Qt.CheckState.Checked for i in range(self.rules.count())):
            QMessageBox.information(self, "Keep rules", "Check at least one keep rule: the rules decide which copy is kept.")
            return
        super().accept()
