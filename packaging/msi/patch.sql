-- Applied by scripts/packages with msibuild after wixl, one query a line:
-- what wixl 0.101 cannot express in sithseid.wxs.
--
-- @UPGRADE_CODE@ and @VERSION@ are filled in by scripts/packages.
--
-- A build of the same version (a build between releases) replaces the
-- installed one: VersionMaxInclusive (0x200) with MigrateFeatures (0x1) on
-- the upgrade row, as WiX's MajorUpgrade AllowSameVersionUpgrades="yes"
-- sets it. Attributes is part of the Upgrade table's key: delete, insert.
DELETE FROM Upgrade WHERE ActionProperty='WIX_UPGRADE_DETECTED'
INSERT INTO Upgrade (UpgradeCode, VersionMin, VersionMax, Language, Attributes, Remove, ActionProperty) VALUES ('{@UPGRADE_CODE@}', '', '@VERSION@', '', 513, '', 'WIX_UPGRADE_DETECTED')
-- ENV is one of the environments the product knows (Windows Installer
-- conditional syntax); refused before anything is written.
INSERT INTO LaunchCondition (Condition, Description) VALUES ('Installed OR ENV="PROD" OR ENV="QA" OR ENV="TEST" OR ENV="DEMO"', 'ENV must be PROD, QA, TEST or DEMO. / ENV måste vara PROD, QA, TEST eller DEMO.')
-- An older build of the installed version is refused (sithseid.wxs,
-- BUILD_TIME): the installed build's time is read by AppSearch.
INSERT INTO LaunchCondition (Condition, Description) VALUES ('Installed OR NOT INSTALLED_BUILD OR INSTALLED_BUILD <= BUILD_TIME', 'A newer build of SITHS eID is already installed. / En nyare version av SITHS eID är redan installerad.')
-- The ENV custom actions set a property (type 51), immediately; wixl adds
-- the NoImpersonate bit (0x800), which means nothing for them.
UPDATE CustomAction SET Type=51 WHERE Action='EnvFromPrevious'
UPDATE CustomAction SET Type=51 WHERE Action='EnvDefault'
-- AUTOSTART=0 leaves out the machine-wide Run entry.
UPDATE Component SET Condition='AUTOSTART="1"' WHERE Component='Autostart'
-- ENV=DEMO also turns DEMO on by policy (allowDemo): the installed program
-- refuses DEMO without it, and ENV=DEMO is the administrator's choice.
UPDATE Component SET Condition='ENV="DEMO"' WHERE Component='AllowDemo'
-- Properties given on the msiexec command line reach the elevated
-- (server-side) install only when listed here; wixl ignores Secure="yes".
UPDATE Property SET Value='WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;ENV;ENV_PREVIOUS;AUTOSTART' WHERE Property='SecureCustomProperties'
-- The Start menu's shortcut carries the application's AppUserModelID
-- (System.AppUserModel.ID; internal/appid.AppUserModelID, which the agent
-- and the windows set for their processes), so the taskbar groups the
-- windows with the shortcut and pins them as one application. wixl 0.101
-- has no ShortcutProperty element (it stops at "unhandled child Shortcut
-- node ShortcutProperty"), so the MsiShortcutProperty table (Windows
-- Installer 5.0; the package asks for 500) is made here.
CREATE TABLE `MsiShortcutProperty` (`MsiShortcutProperty` CHAR(72) NOT NULL, `Shortcut_` CHAR(72) NOT NULL, `PropertyKey` CHAR(0) NOT NULL, `PropVariantValue` CHAR(0) NOT NULL PRIMARY KEY `MsiShortcutProperty`)
INSERT INTO MsiShortcutProperty (MsiShortcutProperty, Shortcut_, PropertyKey, PropVariantValue) VALUES ('StartMenuShortcutAppID', 'StartMenuShortcut', 'System.AppUserModel.ID', 'io.github.sithseid.desktop')
