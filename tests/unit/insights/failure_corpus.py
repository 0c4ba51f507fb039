# ruff: noqa: RUF001, UP030
"""A hand-labelled corpus of realistic command failures: (group, command, error_output, exit_code).

Failures in the same group are the same problem (one pattern); different groups must stay apart,
including the traps: one wrapper running different commands, one command failing two ways.
"""

from __future__ import annotations

Failure = tuple[str, str, str, int | None]

PS_NO_SERVICE = (
    "Get-Service : Cannot find any service with service name '{0}'.\n"
    "At line:1 char:1\n+ Get-Service -Name {0}\n+ ~~~~~~~~~~~~~~~~~~~~~~~~\n"
    "    + CategoryInfo          : ObjectNotFound: ({0}:String) [Get-Service], "
    "ServiceCommandException\n"
    "    + FullyQualifiedErrorId : NoServiceFoundForGivenName,"
    "Microsoft.PowerShell.Commands.GetServiceCommand"
)
PS_NOT_RECOGNIZED = (
    "{0} : The term '{0}' is not recognized as the name of a cmdlet, function, script file, or "
    "operable program. Check the spelling of the name, or if a path was included, verify that "
    "the path is correct and try again.\nAt line:1 char:1\n+ {0}\n+ ~~~~\n"
    "    + CategoryInfo          : ObjectNotFound: ({0}:String) [], CommandNotFoundException\n"
    "    + FullyQualifiedErrorId : CommandNotFoundException"
)
PS_PATH_NOT_FOUND = (
    "Get-ChildItem : Cannot find path '{0}' because it does not exist.\nAt line:1 char:1\n"
    "    + CategoryInfo          : ObjectNotFound: ({0}:String) [Get-ChildItem], "
    "ItemNotFoundException\n    + FullyQualifiedErrorId : PathNotFound,"
    "Microsoft.PowerShell.Commands.GetChildItemCommand"
)
WINRM_FAIL = (
    "[{0}] Connecting to remote server {0} failed with the following error message : WinRM "
    "cannot complete the operation. Verify that the specified computer name is valid, that the "
    "computer is accessible over the network, and that a firewall exception for the WinRM "
    "service is enabled and allows access from this computer.\n"
    "    + CategoryInfo          : OpenError: ({0}:String) [], PSRemotingTransportException\n"
    "    + FullyQualifiedErrorId : WinRMOperationTimeout,PSSessionStateBroken"
)
AD_MODULE = (
    "Import-Module : The specified module 'ActiveDirectory' was not loaded because no valid "
    "module file was found in any module directory.\n"
    "    + FullyQualifiedErrorId : Modules_ModuleNotFound,"
    "Microsoft.PowerShell.Commands.ImportModuleCommand"
)
EXEC_POLICY = (
    "File {0} cannot be loaded because running scripts is disabled on this system. For more "
    "information, see about_Execution_Policies at https:/go.microsoft.com/fwlink/?LinkID=135170.\n"
    "    + CategoryInfo          : SecurityError: (:) [], PSSecurityException\n"
    "    + FullyQualifiedErrorId : UnauthorizedAccess"
)
PS_ACCESS_DENIED_SVC = (
    "Stop-Service : Service '{0} ({0})' cannot be stopped due to the following error: Cannot "
    "open {0} service on computer '.'.\n"
    "    + CategoryInfo          : CloseError: (System.ServiceProcess.ServiceController:"
    "ServiceController) [Stop-Service], ServiceCommandException\n"
    "    + FullyQualifiedErrorId : CouldNotStopService,"
    "Microsoft.PowerShell.Commands.StopServiceCommand"
)
APT_LOCK = (
    "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process {0} (apt)\n"
    "N: Be aware that removing the lock file is not a solution and may break your system.\n"
    "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another "
    "process using it?"
)
SYSTEMD_FAIL = (
    "Job for {0}.service failed because the control process exited with error code.\n"
    'See "systemctl status {0}.service" and "journalctl -xeu {0}.service" for details.'
)
ROBOCOPY_DENIED = (
    "{0} ERROR 5 (0x00000005) Accessing Destination Directory {1}\nAccess is denied.\n"
    "Waiting 30 seconds... Retrying..."
)
ROBOCOPY_NETPATH = (
    "{0} ERROR 53 (0x00000035) Accessing Source Directory {1}\nThe network path was not found."
)

CORPUS: list[Failure] = [
    # --- PowerShell -------------------------------------------------------------------------
    *[
        ("ps-get-service-missing", f"Get-Service -Name {s}", PS_NO_SERVICE.format(s), 1)
        for s in ("Spooler2", "MSSQL$SQLEXPRESS", "VeeamBackupSvc", "wuauserv1")
    ],
    *[
        (
            "ps-restart-missing-via-powershell",
            f'powershell -NoProfile -Command "Get-Service -Name {s}"',
            PS_NO_SERVICE.format(s),
            1,
        )
        for s in ("Spoolr", "W3SVCX", "TermServ2")
    ],
    *[
        ("ps-term-not-recognized", f"{c} {a}", PS_NOT_RECOGNIZED.format(c), 1)
        for c, a in (
            ("Get-WindowsFeature", "-Name Web-Server"),
            ("Get-WindowsFeature", "RSAT-AD"),
            ("Get-WindowsFeature", "-Name DHCP"),
        )
    ],
    *[
        (
            "ps-storage-cmdlet-missing",
            f"Get-PhysicalDisk {a}",
            PS_NOT_RECOGNIZED.format("Get-PhysicalDisk"),
            1,
        )
        for a in ("| Select FriendlyName", "-FriendlyName Disk0", "| Select FriendlyName")
    ],
    *[
        ("ps-path-missing", f"Get-ChildItem -Path {p} -Recurse", PS_PATH_NOT_FOUND.format(p), 1)
        for p in ("D:\\Shares\\Finance", "E:\\Backups\\2024", "\\\\fs02\\public\\scans")
    ],
    *[
        (
            "ps-winrm-unreachable",
            f"Invoke-Command -ComputerName {h} -ScriptBlock {{ Get-Service W32Time }}",
            WINRM_FAIL.format(h),
            1,
        )
        for h in ("DC01", "FS02.corp.local", "10.20.0.15")
    ],
    *[
        (
            "ps-winrm-unreachable-other-command",
            f"Invoke-Command -ComputerName {h} -ScriptBlock {{ Restart-Computer -Force }}",
            WINRM_FAIL.format(h),
            1,
        )
        for h in ("DC01", "APP03")
    ],
    *[
        (
            "ps-ad-module-missing",
            f'powershell -Command "Import-Module ActiveDirectory; {c}"',
            AD_MODULE,
            1,
        )
        for c in ("Get-ADUser -Filter *", "Get-ADUser -Filter *", "Get-ADUser -Filter *")
    ],
    *[
        ("ps-exec-policy", f"powershell -File {p}", EXEC_POLICY.format(p), 1)
        for p in ("C:\\Scripts\\Backup.ps1", "C:\\Scripts\\Backup.ps1", "C:\\Scripts\\Backup.ps1")
    ],
    *[
        (
            "ps-stop-service-denied",
            f"Stop-Service -Name {s} -Force",
            PS_ACCESS_DENIED_SVC.format(s),
            1,
        )
        for s in ("WinDefend", "Sense", "MsMpSvc")
    ],
    *[
        (
            "ps-invoke-webrequest-tls",
            f"Invoke-WebRequest -Uri {u} -OutFile {o}",
            "Invoke-WebRequest : The request was aborted: Could not create SSL/TLS secure channel.\n"
            "    + FullyQualifiedErrorId : WebCmdletWebResponseException,"
            "Microsoft.PowerShell.Commands.InvokeWebRequestCommand",
            1,
        )
        for u, o in (
            ("https://aka.ms/installazcli", "C:\\Temp\\az.msi"),
            ("https://github.com/x/y/releases/latest/agent.zip", "agent.zip"),
            ("https://download.example.com/tool.exe", "$env:TEMP\\tool.exe"),
        )
    ],
    # --- cmd / net / sc -----------------------------------------------------------------------
    *[
        (
            "sc-query-missing",
            f"sc query {s}",
            "[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\n\nThe specified service does not "
            "exist as an installed service.",
            1060,
        )
        for s in ("Spooler2", "veeamagent", "SQLAgent$X")
    ],
    *[
        (
            "sc-stop-not-started",
            f"sc stop {s}",
            "[SC] ControlService FAILED 1062:\n\nThe service has not been started.",
            1062,
        )
        for s in ("Spooler", "W32Time", "BITS", "wuauserv")
    ],
    *[
        (
            "sc-start-denied",
            f"sc.exe start {s}",
            "[SC] StartService: OpenService FAILED 5:\n\nAccess is denied.",
            5,
        )
        for s in ("Spooler", "MSSQLSERVER", "TermService")
    ],
    *[
        (
            "sc-config-bad-syntax",
            f"sc config {s} start=auto",
            "[SC] ChangeServiceConfig FAILED 87:\n\nThe parameter is incorrect.",
            87,
        )
        for s in ("Spooler", "W32Time", "MSSQLSERVER")
    ],
    *[
        (
            "net-use-path-not-found",
            f"net use {d}: \\\\{h}\\{sh} /persistent:yes",
            "System error 53 has occurred.\n\nThe network path was not found.",
            2,
        )
        for d, h, sh in (
            ("Z", "fs01", "share"),
            ("Y", "nas02", "backup"),
            ("X", "10.0.0.9", "scans"),
        )
    ],
    *[
        (
            "net-use-bad-password",
            f"net use {d}: \\\\{h}\\{sh} [REDACTED] /user:CORP\\{u}",
            "System error 86 has occurred.\n\nThe specified network password is not correct.",
            2,
        )
        for d, h, sh, u in (
            ("Z", "fs01", "share", "svc_backup"),
            ("P", "fs03", "profiles", "admin"),
            ("Z", "fs01", "share", "jdoe"),
        )
    ],
    *[
        (
            "net-stop-not-started",
            f"net stop {s}",
            "The {0} service is not started.\n\nMore help is available by typing NET HELPMSG 3521.".format(
                s.strip('"')
            ),
            2,
        )
        for s in ("Spooler", '"Windows Update"', "W32Time")
    ],
    *[
        (
            "net-user-denied",
            f"net user {u} /domain",
            "System error 5 has occurred.\n\nAccess is denied.",
            2,
        )
        for u in ("jdoe", "asmith")
    ],
    *[
        (
            "net-localgroup-exists",
            f"net localgroup Administrators {u} /add",
            "System error 1378 has occurred.\n\nThe specified account name is already a member of the "
            "group.",
            2,
        )
        for u in ("CORP\\jdoe", "CORP\\svc_sql", "helpdesk")
    ],
    *[
        (
            "cmd-dism-source",
            f'cmd /c "dism /online /enable-feature /featurename:{f} /all"',
            'Error: 0x800f081f\n\nThe source files could not be found.\nUse the "Source" option to '
            "specify the location of the files that are required to restore the feature.",
            2148007967,
        )
        for f in ("NetFx3", "NetFx3", "TelnetClient")
    ],
    *[
        (
            "cmd-dism-elevation",
            'cmd /c "dism /online /cleanup-image /restorehealth"',
            "Error: 740\n\nElevated permissions are required to run DISM.\nUse an elevated command "
            "prompt to complete these tasks.",
            740,
        )
        for _ in range(3)
    ],
    *[
        (
            "sfc-not-admin",
            "sfc /scannow",
            "You must be an administrator running a console session "
            "in order to use the sfc utility.",
            1,
        )
        for _ in range(2)
    ],
    *[
        (
            "schtasks-denied",
            f'schtasks /create /tn "{t}" /tr "{c}" /sc daily /st 02:00',
            "ERROR: Access is denied.",
            1,
        )
        for t, c in (
            ("Nightly Backup", "C:\\Scripts\\b.cmd"),
            ("Cleanup", "C:\\Tools\\clean.bat"),
            ("Sync", "C:\\Tools\\sync.cmd"),
        )
    ],
    *[
        (
            "reg-key-missing",
            f'reg query "{k}" /v {v}',
            "ERROR: The system was unable to find the specified registry key or value.",
            1,
        )
        for k, v in (
            ("HKLM\\SOFTWARE\\Veeam\\Agent", "Version"),
            ("HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate", "WUServer"),
            ("HKCU\\Software\\Acme", "InstallDir"),
        )
    ],
    *[
        (
            "robocopy-dest-denied",
            f"robocopy {s} {d} /MIR /R:1 /W:30",
            ROBOCOPY_DENIED.format(ts, d),
            16,
        )
        for s, d, ts in (
            ("C:\\Data", "\\\\nas01\\backup\\data", "2024/03/01 02:00:13"),
            ("D:\\Shares", "\\\\nas01\\backup\\shares", "2024/03/02 02:00:11"),
            ("C:\\Users", "\\\\nas02\\users", "2024/05/17 23:14:59"),
        )
    ],
    *[
        (
            "robocopy-source-netpath",
            f"robocopy {s} {d} /E /COPY:DAT /LOG+:C:\\logs\\rc.log",
            ROBOCOPY_NETPATH.format(ts, s),
            16,
        )
        for s, d, ts in (
            ("\\\\fs01\\projects", "E:\\Mirror\\projects", "2024/03/01 01:00:02"),
            ("\\\\fs02\\hr", "E:\\Mirror\\hr", "2024/04/11 01:00:03"),
            ("\\\\10.0.0.30\\scans", "E:\\Mirror\\scans", "2024/04/12 01:00:01"),
        )
    ],
    *[
        (
            "gpupdate-dc-unreachable",
            "gpupdate /force",
            "Computer policy could not be updated successfully. The following errors were encountered:"
            "\n\nThe processing of Group Policy failed because of lack of network connectivity to a "
            "domain controller.",
            1,
        )
        for _ in range(3)
    ],
    *[
        (
            "winget-no-package",
            f"winget install --id {p} -e --accept-package-agreements",
            "No package found matching input criteria.",
            -1978335212,
        )
        for p in ("Notepad++.Notepad+++", "Mozilla.FirefoxESR.x", "7zip.7zipp")
    ],
    *[
        (
            "winget-hash-mismatch",
            f"winget install --id {p} -e",
            f"Found {p} [{p}] Version 1.2.3\nDownloading https://cdn.example.com/{p}.msi\n"
            "Installer hash does not match; this cannot be overridden when running as admin",
            -1978335215,
        )
        for p in ("Google.Chrome", "Zoom.Zoom", "Adobe.Acrobat.Reader.64-bit")
    ],
    *[
        (
            "choco-not-admin",
            f"choco install {p} -y",
            "Chocolatey installed 0/1 packages. 1 packages "
            f"failed.\n - {p} (exited 1) - Access to the path 'C:\\ProgramData\\chocolatey\\lib-bad' is "
            "denied.",
            1,
        )
        for p in ("googlechrome", "7zip", "vlc")
    ],
    *[
        (
            "certutil-bad-password",
            f"certutil -importpfx {f}",
            "CertUtil: -importPFX command FAILED: "
            "0x80070056 (WIN32: 86 ERROR_INVALID_PASSWORD)\nCertUtil: The specified network password "
            "is not correct.",
            -2147024810,
        )
        for f in ("C:\\certs\\wildcard.pfx", "D:\\ssl\\mail.pfx", "C:\\certs\\rds.pfx")
    ],
    # --- Linux: systemctl, apt, dnf, services -------------------------------------------------
    *[
        ("systemctl-restart-failed", f"sudo systemctl restart {s}", SYSTEMD_FAIL.format(s), 1)
        for s in ("nginx", "php8.1-fpm", "mariadb", "apache2")
    ],
    *[
        (
            "systemctl-unit-missing",
            f"systemctl start {s}",
            f"Failed to start {s}.service: Unit {s}.service not found.",
            5,
        )
        for s in ("nginxx", "docker", "postgresql@14-main")
    ],
    *[
        (
            "systemctl-not-root",
            f"systemctl restart {s}",
            f"Failed to restart {s}.service: Interactive authentication required.\nSee system logs and "
            f"'systemctl status {s}.service' for details.",
            1,
        )
        for s in ("nginx", "ssh", "cron")
    ],
    *[
        ("apt-lock", f"sudo apt-get install -y {p}", APT_LOCK.format(pid), 100)
        for p, pid in (("nginx", 1234), ("htop", 98121), ("curl jq", 4411), ("postgresql-15", 77))
    ],
    *[
        ("apt-lock-upgrade", "sudo apt-get upgrade -y", APT_LOCK.format(pid), 100)
        for pid in (2210, 3133)
    ],
    *[
        (
            "apt-no-package",
            f"apt install -y {p}",
            "WARNING: apt does not have a stable CLI interface. Use with caution in scripts.\n\n"
            "Reading package lists...\nBuilding dependency tree...\nReading state information...\n"
            f"E: Unable to locate package {p}",
            100,
        )
        for p in ("nginxx", "python3.13-venv", "htopp")
    ],
    *[
        (
            "apt-update-repo-unsigned",
            "apt-get update",
            f"Err:{n} https://{r} stable InRelease\n  The following signatures couldn't be verified "
            f"because the public key is not available: NO_PUBKEY {k}\nE: The repository "
            f"'https://{r} stable InRelease' is not signed.",
            100,
        )
        for n, r, k in (
            (4, "packages.example.com/apt", "7EA0A9C3F273FCD8"),
            (7, "download.docker.com/linux/ubuntu", "8D81803C0EBFCD88"),
            (3, "repo.zabbix.com/zabbix/6.0/ubuntu", "082AB56BA14FE591"),
        )
    ],
    *[
        (
            "dnf-no-match",
            f"dnf install -y {p}",
            f"Last metadata expiration check: 0:{m}:11 ago on "
            f"Mon 04 Mar 2024 10:{m}:02 AM UTC.\nNo match for argument: {p}\nError: Unable to find a "
            "match: " + p,
            1,
        )
        for p, m in (("htopp", "12"), ("nginx-full", "43"), ("epel-relase", "02"))
    ],
    *[
        ("sudo-password-required", f"sudo -n {c}", "sudo: a password is required", 1)
        for c in ("systemctl reload nginx", "systemctl reload nginx", "systemctl reload nginx")
    ],
    *[
        ("sudo-password-required-other", f"sudo -n {c}", "sudo: a password is required", 1)
        for c in ("apt-get update", "apt-get update")
    ],
    *[
        (
            "sudo-not-in-sudoers",
            f"sudo {c}",
            f"{u} is not in the sudoers file.  This incident will be reported.",
            1,
        )
        for c, u in (
            ("tail /var/log/syslog", "deploy"),
            ("tail /var/log/auth.log", "jdoe"),
            ("tail /var/log/kern.log", "backup"),
        )
    ],
    *[
        ("bash-command-not-found", f"{c}", f"bash: {c.split()[0]}: command not found", 127)
        for c in ("ifconfig -a", "ifconfig eth0", "ifconfig")
    ],
    *[
        ("bash-netstat-not-found", f"{c}", "bash: netstat: command not found", 127)
        for c in ("netstat -tlnp", "netstat -tlnp")
    ],
    *[
        ("permission-denied-log", f"cat {f}", f"cat: {f}: Permission denied", 1)
        for f in ("/var/log/auth.log", "/etc/shadow", "/var/log/mysql/error.log")
    ],
    *[
        (
            "disk-full-tar",
            f"tar -czf {a} {d}",
            f"tar: {a}: Wrote only 4096 of 10240 bytes\ntar: Error is not recoverable: exiting now",
            2,
        )
        for a, d in (
            ("/backup/etc-2024-03-01.tgz", "/etc"),
            ("/backup/www-0302.tgz", "/var/www"),
            ("/mnt/usb/home.tgz", "/home"),
        )
    ],
    *[
        (
            "rsync-vanished",
            f"rsync -az --delete {s} {d}",
            f'file has vanished: "{s}{f}"\nrsync warning: some files vanished before they could be '
            "transferred (code 24) at main.c(1338) [sender=3.2.7]",
            24,
        )
        for s, d, f in (
            ("/var/www/", "backup@nas01:/volume1/www/", "cache/x.tmp"),
            ("/srv/app/", "backup@10.0.0.40:/backups/app/", "tmp/sess_8d2"),
            ("/home/", "backup@nas01:/volume1/home/", ".cache/y"),
        )
    ],
    *[
        (
            "rsync-ssh-refused",
            f"rsync -az {s} {d}",
            f"ssh: connect to host {h} port 22: Connection "
            "refused\nrsync: connection unexpectedly closed (0 bytes received so far) [sender]\n"
            "rsync error: unexplained error (code 255) at io.c(231) [sender=3.2.3]",
            255,
        )
        for s, d, h in (
            ("/var/www/", "backup@nas01:/volume1/www/", "nas01"),
            ("/etc/", "root@10.0.0.40:/backups/etc/", "10.0.0.40"),
        )
    ],
    *[
        (
            "mount-cifs-denied",
            f"mount -t cifs //{h}/{s} {m} -o credentials=/root/.smbcred",
            "mount error(13): Permission denied\nRefer to the mount.cifs(8) manual page (e.g. man "
            "mount.cifs) and kernel log messages (dmesg)",
            32,
        )
        for h, s, m in (
            ("fs01", "share", "/mnt/share"),
            ("10.0.0.9", "scans", "/mnt/scans"),
            ("nas02", "backup", "/mnt/backup"),
        )
    ],
    *[
        (
            "certbot-challenge",
            f"certbot certonly --webroot -w /var/www/html -d {d}",
            f"Certbot failed to authenticate some domains (authenticator: webroot). The Certificate "
            f"Authority reported these problems:\n  Domain: {d}\n  Type:   unauthorized\n  Detail: "
            f"{ip}: Invalid response from http://{d}/.well-known/acme-challenge/{tok}: 404",
            1,
        )
        for d, ip, tok in (
            ("shop.example.com", "203.0.113.7", "abcDEF123"),
            ("mail.client.net", "198.51.100.20", "x9Y8z7"),
            ("portal.acme.org", "203.0.113.8", "QwErTy"),
        )
    ],
    *[
        (
            "mysql-access-denied",
            f'mysql -u {u} -p[REDACTED] -h {h} -e "SELECT 1"',
            f"ERROR 1045 (28000): Access denied for user '{u}'@'{ip}' (using password: YES)",
            1,
        )
        for u, h, ip in (
            ("app", "db01", "10.0.0.12"),
            ("backup", "127.0.0.1", "localhost"),
            ("report", "db02.corp.local", "10.0.1.4"),
        )
    ],
    *[
        (
            "mysqldump-lock-denied",
            f"mysqldump --single-transaction -u {u} {d}",
            f"mysqldump: Got error: 1044: \"Access denied for user '{u}'@'localhost' to database "
            f"'{d}'\" when using LOCK TABLES",
            2,
        )
        for u, d in (("backup", "shop"), ("backup", "crm"), ("readonly", "wiki"))
    ],
    *[
        (
            "docker-daemon-down",
            f"docker {c}",
            "Cannot connect to the Docker daemon at "
            "unix:///var/run/docker.sock. Is the docker daemon running?",
            1,
        )
        for c in ("ps", "ps", "ps")
    ],
    *[
        (
            "docker-daemon-down-ps-all",
            "docker ps -a",
            "Cannot connect to the Docker daemon at "
            "unix:///var/run/docker.sock. Is the docker daemon running?",
            1,
        )
        for _ in range(2)
    ],
    *[
        (
            "docker-compose-port-in-use",
            f"docker compose -f {f} up -d",
            f"Error response from daemon: driver failed programming external connectivity on endpoint "
            f"{e} ({h}): Bind for 0.0.0.0:{p} failed: port is already allocated",
            1,
        )
        for f, e, h, p in (
            ("/opt/app/docker-compose.yml", "app-web-1", "3f2a9c1d0b7e8f6a5c4d3e2f1a0b", 80),
            ("compose.yaml", "proxy-1", "9a8b7c6d5e4f3a2b1c0d9e8f7a6b", 443),
            ("/srv/wiki/compose.yml", "wiki-1", "1c2d3e4f5a6b7c8d9e0f1a2b3c4d", 8080),
        )
    ],
    *[
        (
            "kubectl-forbidden",
            f"kubectl get pods -n {n}",
            f"Error from server (Forbidden): pods is "
            f'forbidden: User "{u}" cannot list resource "pods" in API group "" in the namespace '
            f'"{n}"',
            1,
        )
        for n, u in (("prod", "jdoe"), ("billing", "ci-bot"), ("kube-system", "x"))
    ],
    # --- ssh (one wrapper, different inner commands are different patterns) -----------------
    *[
        (
            "ssh-refused",
            f"ssh {u}@{h} uptime",
            f"ssh: connect to host {h} port 22: Connection refused",
            255,
        )
        for u, h in (("admin", "10.0.0.5"), ("root", "10.0.0.6"), ("admin", "web02"))
    ],
    *[
        (
            "ssh-hostkey-changed",
            f"ssh {h} 'df -h'",
            "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@"
            "@@@@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
            f"Host key for {h} has changed and you have requested strict checking.\nHost key "
            "verification failed.",
            255,
        )
        for h in ("web01", "db01.corp.local", "10.1.1.20")
    ],
    *[
        ("ssh-inner-apt-lock", f"ssh {h} sudo apt-get install -y {p}", APT_LOCK.format(pid), 100)
        for h, p, pid in (
            ("web01", "nginx", 555),
            ("web02", "curl", 9911),
            ("10.0.0.7", "htop", 321),
        )
    ],
    *[
        (
            "ssh-inner-systemctl-failed",
            f"ssh {h} sudo systemctl restart {s}",
            SYSTEMD_FAIL.format(s),
            1,
        )
        for h, s in (("web01", "nginx"), ("web02", "nginx"), ("app01", "php8.2-fpm"))
    ],
    *[
        (
            "ssh-publickey-denied",
            f"ssh -i {k} {u}@{h} whoami",
            f"{u}@{h}: Permission denied (publickey).",
            255,
        )
        for k, u, h in (
            ("~/.ssh/id_ed25519", "deploy", "10.0.0.8"),
            ("~/.ssh/client_a", "root", "vps1.example.com"),
            ("C:\\Users\\tech\\.ssh\\id_rsa", "admin", "192.168.1.10"),
        )
    ],
    *[
        (
            "ssh-resolve",
            f"ssh {u}@{h} hostname",
            f"ssh: Could not resolve hostname {h}: Name or service not known",
            255,
        )
        for u, h in (("admin", "web0l"), ("root", "db-old"), ("admin", "fs-01.corp.lcl"))
    ],
    # --- one wrapper, different commands: sudo a vs sudo b -------------------------------------
    *[
        (
            "sudo-tail-denied",
            f"sudo tail -f {f}",
            f"tail: cannot open '{f}' for reading: No such file or directory",
            1,
        )
        for f in ("/var/log/nginx/error.log", "/var/log/app/x.log")
    ],
    *[
        ("sudo-cat-missing", f"sudo cat {f}", f"cat: {f}: No such file or directory", 1)
        for f in ("/etc/nginx/sites-enabled/shop", "/etc/app/config.yml", "/opt/x/y.conf")
    ],
    *[
        (
            "powershell-c-testconnection",
            f'powershell -c "Test-NetConnection {h} -Port {p}"',
            f"WARNING: TCP connect to ({ip} : {p}) failed",
            1,
        )
        for h, p, ip in (
            ("dc01", 389, "10.0.0.2"),
            ("sql01", 1433, "10.0.0.3"),
            ("fs01", 445, "10.0.0.4"),
        )
    ],
    *[
        (
            "powershell-c-remove-item-locked",
            f'powershell -c "Remove-Item {p} -Force"',
            f"Remove-Item : Cannot remove item {p}: The process cannot access the file '{p}' because "
            "it is being used by another process.\n    + FullyQualifiedErrorId : "
            "RemoveFileSystemItemIOError,Microsoft.PowerShell.Commands.RemoveItemCommand",
            1,
        )
        for p in ("C:\\Temp\\app.log", "D:\\Data\\db.mdf", "C:\\inetpub\\logs\\u_ex24.log")
    ],
    *[
        (
            "wmic-deprecated",
            f"wmic {a}",
            "'wmic' is not recognized as an internal or external "
            "command,\noperable program or batch file.",
            9009,
        )
        for a in ("bios get serialnumber", "bios get serialnumber", "bios get serialnumber")
    ],
    *[
        (
            "wmic-deprecated",
            "wmic product get name,version",
            "'wmic' is not recognized as an "
            "internal or external command,\noperable program or batch file.",
            9009,
        )
        for _ in range(2)
    ],
    *[
        (
            "ping-timeout",
            f"ping -n 4 {h}",
            f"Pinging {h} with 32 bytes of data:\nRequest timed "
            "out.\nRequest timed out.\n\nPing statistics for {0}:".format(h),
            1,
        )
        for h in ("10.0.0.1", "192.168.10.254", "8.8.8.8")
    ],
    *[
        (
            "curl-ssl-expired",
            f"curl -fsS https://{h}/health",
            "curl: (60) SSL certificate problem:"
            " certificate has expired\nMore details here: https://curl.se/docs/sslcerts.html",
            60,
        )
        for h in ("portal.client.com", "10.0.0.50:8443", "nas01.local:5001")
    ],
    *[
        (
            "curl-refused",
            f"curl -fsS http://{h}/health",
            f"curl: (7) Failed to connect to {h.split(':')[0]} "
            f"port {h.split(':')[1]} after 0 ms: Couldn't connect to server",
            7,
        )
        for h in ("localhost:8080", "127.0.0.1:9000", "app01:3000")
    ],
    *[
        (
            "git-pull-auth",
            f"git pull origin {b}",
            "remote: Invalid username or password.\nfatal: "
            f"Authentication failed for 'https://git.example.com/acme/{r}.git/'",
            128,
        )
        for b, r in (("main", "site"), ("master", "infra"), ("develop", "tools"))
    ],
    *[
        (
            "git-pull-conflict",
            f"git pull origin {b}",
            "error: Your local changes to the following "
            f"files would be overwritten by merge:\n\t{f}\nPlease commit your changes or stash them "
            "before you merge.\nAborting",
            1,
        )
        for b, f in (("main", "config.php"), ("main", ".env.prod"), ("develop", "app/settings.py"))
    ],
    *[
        (
            "pip-externally-managed",
            f"pip install {p}",
            "error: externally-managed-environment\n\n"
            "× This environment is externally managed\n╰─> To install Python packages system-wide, "
            "try apt install python3-xyz",
            1,
        )
        for p in ("requests", "paramiko==3.4.0", "pyyaml")
    ],
    *[
        (
            "python-traceback-keyerror",
            f"python3 {s} --env {e}",
            "Traceback (most recent call "
            f'last):\n  File "/opt/tools/{s}", line 42, in <module>\n    main()\nKeyError: '
            "'DATABASE_URL'",
            1,
        )
        for s, e in (("sync.py", "prod"), ("sync.py", "staging"))
    ],
    *[
        ("crontab-no-file", f"crontab -l -u {u}", f"no crontab for {u}", 1)
        for u in ("backup", "www-data", "deploy")
    ],
    *[
        ("ufw-not-root", f"ufw allow {p}/tcp", "ERROR: You need to be root to run this script", 1)
        for p in (22, 443, 8080)
    ],
    *[
        (
            "zfs-dataset-missing",
            f"zfs snapshot {d}@{s}",
            f"cannot open '{d}': dataset does not "
            "exist\nusage:\n\tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...",
            1,
        )
        for d, s in (
            ("tank/vm-101-disk-0", "pre-upgrade"),
            ("rpool/data/x", "daily-2024-03-01"),
            ("tank/backups", "manual"),
        )
    ],
    *[("qm-locked", f"qm start {v}", f"VM {v} is locked (backup)", 255) for v in (101, 204, 310)],
    *[
        (
            "pct-missing",
            f"pct enter {v}",
            f"Configuration file 'nodes/pve1/lxc/{v}.conf' does not exist",
            255,
        )
        for v in (120, 130)
    ],
    *[
        (
            "vssadmin-denied",
            "vssadmin list shadows",
            "vssadmin 1.1 - Volume Shadow Copy Service "
            "administrative command-line tool\n(C) Copyright 2001-2013 Microsoft Corp.\n\nError: You "
            "don't have the correct permissions to run this command.  Please run this utility from a "
            "command window that has elevated administrator privileges.",
            2,
        )
        for _ in range(3)
    ],
    *[
        (
            "wbadmin-target-missing",
            f"wbadmin start backup -backupTarget:{t} -include:C: -quiet",
            "wbadmin 1.0 - Backup command-line tool\nERROR - The backup storage location is invalid. "
            "You cannot use a volume that is included in the backup as a storage location.",
            4294967295,
        )
        for t in ("C:", "C:", "C:")
    ],
    *[
        (
            "manage-bde-tpm",
            "manage-bde -on C: -RecoveryPassword",
            "ERROR: An error occurred (code 0x80310059):\nNo compatible Trusted Platform Module (TPM) "
            "was found on this computer.",
            4294967295,
        )
        for _ in range(2)
    ],
    *[
        (
            "w32tm-not-running",
            "w32tm /resync /force",
            "Sending resync command to local computer\n"
            "The following error occurred: The service has not been started. (0x80070426)",
            2147943462,
        )
        for _ in range(3)
    ],
    *[
        (
            "repadmin-rpc",
            f"repadmin /replicate {a} {b} {n}",
            "DsReplicaSync() failed with status 1722 (0x6ba):\n    The RPC server is unavailable.",
            1722,
        )
        for a, b, n in (
            ("DC02", "DC01", "DC=corp,DC=local"),
            ("DC03", "DC01", "DC=corp,DC=local"),
            ("DC02", "DC04", "CN=Configuration,DC=corp,DC=local"),
        )
    ],
]
