"""The highlight over the window while files are dragged over it: says what a drop will do."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

SEARCH_TEXT = "Drop to find similar photos"
FOLDER_TEXT = "Drop to add the folder to the library"


class DropOverlay(QWidget):
    """A tinted, outlined cover of its parent with one sentence in the middle; it lets every
    mouse event through and follows the parent's size."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.text = SEARCH_TEXT
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAccessibleName("Drop target")
        parent.installEventFilter(self)
        self.hide()

    def show_for(self, folders: bool) -> None:
        self.text = FOLDER_TEXT if folders else SEARCH_TEXT
        self.setGeometry(self.parentWidget().rect())
        self.raise_()
        self.show()
        self.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.parentWidget().rect())
        return False

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        tint = QColor(highlight)
        tint.setAlpha(50)
        painter.fillRect(self.rect(), tint)
        painter.setPen(QPen(highlight, 4, Qt.PenStyle.DashLine))
        painter.drawRoundedRect(self.rect().adjusted(8, 8, -8, -8), 12, 12)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.text)
