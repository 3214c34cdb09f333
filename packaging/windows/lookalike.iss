; Inno Setup 6 script for Lookalike on Windows x64 (UNTESTED: no Windows machine here).
;
; Packs the PyInstaller onedir bundle built from packaging/lookalike.spec on Windows
; (lookalike.exe = CLI, lookalike-gui.exe = the window without a console) into
; dist\lookalike-<version>-windows-x64-setup.exe with a Start menu entry, an
; uninstaller, and an optional "Open with" entry for JPEG photos that leaves the
; user's default viewer alone. Per-user install by default (no admin prompt);
; the first page offers all users.
;
;   iscc /DAppVersion=0.1.0 /DBundleDir=C:\path\to\build\package-cpu\dist\lookalike
;        /DIconFile=C:\path\to\lookalike.ico packaging\windows\lookalike.iss
; (.github/workflows/package.yml makes the .ico from resources/icons/lookalike-256.png.)

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef BundleDir
  #define BundleDir "..\..\build\package-cpu\dist\lookalike"
#endif

[Setup]
AppId={{72C4F232-4FCC-41B9-A2CB-831E15A99164}
AppName=Lookalike
AppVersion={#AppVersion}
AppVerName=Lookalike {#AppVersion}
AppPublisher=Lookalike developers
DefaultDirName={autopf}\Lookalike
DefaultGroupName=Lookalike
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=lookalike-{#AppVersion}-windows-x64-setup
#ifdef IconFile
SetupIconFile={#IconFile}
#endif
UninstallDisplayIcon={app}\lookalike-gui.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "associate"; Description: "Offer Lookalike in ""Open with"" for JPEG photos"; GroupDescription: "File types:"; Flags: unchecked

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Lookalike"; Filename: "{app}\lookalike-gui.exe"; Comment: "Find duplicate and similar photos"
Name: "{autodesktop}\Lookalike"; Filename: "{app}\lookalike-gui.exe"; Tasks: desktopicon

[Registry]
; A ProgID plus OpenWithProgids entries: Lookalike appears in "Open with", nothing is taken over.
Root: HKA; Subkey: "Software\Classes\Lookalike.Photo"; ValueType: string; ValueName: ""; ValueData: "Photo (Lookalike)"; Flags: uninsdeletekey; Tasks: associate
Root: HKA; Subkey: "Software\Classes\Lookalike.Photo\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\lookalike-gui.exe,0"; Tasks: associate
Root: HKA; Subkey: "Software\Classes\Lookalike.Photo\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\lookalike-gui.exe"" ""%1"""; Tasks: associate
Root: HKA; Subkey: "Software\Classes\.jpg\OpenWithProgids"; ValueType: string; ValueName: "Lookalike.Photo"; ValueData: ""; Flags: uninsdeletevalue; Tasks: associate
Root: HKA; Subkey: "Software\Classes\.jpeg\OpenWithProgids"; ValueType: string; ValueName: "Lookalike.Photo"; ValueData: ""; Flags: uninsdeletevalue; Tasks: associate

[Run]
Filename: "{app}\lookalike-gui.exe"; Description: "{cm:LaunchProgram,Lookalike}"; Flags: nowait postinstall skipifsilent
