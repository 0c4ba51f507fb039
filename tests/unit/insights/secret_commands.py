"""A labelled set of command lines with secrets, in the syntaxes MSP technicians type.

Each entry: (syntax, command, secret). Secrets are written so no other part of the command
contains them; a test fails when any secret survives redaction, anywhere it is stored.
"""

from __future__ import annotations

SECRET_COMMANDS: list[tuple[str, str, str]] = [
    # net use: the password is the positional after the share, before or after /user
    ("net use", r"net use Z: \\nas\share /user:corp\svc P@ssw0rd1", "P@ssw0rd1"),
    ("net use", r"net use Z: \\nas01\backup Sup3r!Secret /user:CORP\backup", "Sup3r!Secret"),
    ("net use", r"net use \\fs01\ipc$ Qq9-hidden /u:administrator", "Qq9-hidden"),
    ("net use", r'NET USE Y: "\\srv 2\public" "pa ss word7" /USER:x /persistent:no', "pa ss word7"),
    (
        "net use",
        r"C:\Windows\System32\net.exe use * \\nas\x Tr0ub4dor /user:nas\admin",
        "Tr0ub4dor",
    ),
    # net user: name then password
    ("net user", "net user bob Winter2024x /add", "Winter2024x"),
    ("net user", "net user svc_backup N3wPass!word /domain", "N3wPass!word"),
    ("net user", "net user administrator 'Adm1n Pass'", "Adm1n Pass"),
    # runas / sudo -S / passwd --stdin: a password echoed into a reader
    ("runas", 'echo Runas#Secret9 | runas /user:corp\\admin "mmc compmgmt.msc"', "Runas#Secret9"),
    ("runas", "echo RunAsPw77| runas /netonly /user:x cmd", "RunAsPw77"),
    ("sudo -S", "echo 'SudoPw!x1' | sudo -S systemctl restart nginx", "SudoPw!x1"),
    ("passwd --stdin", "echo 'Stdin-pw-5' | passwd --stdin deploy", "Stdin-pw-5"),
    ("chpasswd", "echo 'deploy:ChPass-77' | chpasswd", "ChPass-77"),
    (
        "docker login stdin",
        "echo dckr_pat_ABCxyz | docker login -u me --password-stdin",
        "dckr_pat_ABCxyz",
    ),
    # psexec / paexec -p
    ("psexec -p", r"psexec \\srv01 -u CORP\admin -p PsExecPw1 cmd /c ipconfig", "PsExecPw1"),
    ("psexec -p", r"PsExec64.exe \\10.0.0.5 -u admin -p 'Ps Exec 2' -s powershell", "Ps Exec 2"),
    ("psexec -p", r"paexec \\host -u x -p PaExec_pw3 -i hostname", "PaExec_pw3"),
    # mysql family
    ("mysql -p", "mysql -u root -pMyS3cret db1", "MyS3cret"),
    ("mysql -p", "mysql -uroot -p'my secret' -h 10.0.0.1 -e 'show databases'", "my secret"),
    ("mysql --password", "mysql --password=Pa55-mysql --host db01 app", "Pa55-mysql"),
    ("mysql --password", 'mysqladmin --user=root --password="Adm in" status', "Adm in"),
    ("mariadb-dump", "mariadb-dump -u backup -pDumpPw44 --all-databases > all.sql", "DumpPw44"),
    (
        "mariadb-dump",
        "mysqldump --password=DumpPw55 --single-transaction app | gzip > a.gz",
        "DumpPw55",
    ),
    ("mariadb-dump", "sudo mariadb-dump -pMdbPw66 app", "MdbPw66"),
    # sshpass
    ("sshpass -p", "sshpass -p 'Ssh Pass 1' ssh root@10.0.0.9 uptime", "Ssh Pass 1"),
    ("sshpass -p", "sshpass -pSshPass2x scp a.txt root@h:/tmp", "SshPass2x"),
    ("sshpass -p", "sshpass -p SshPass3y rsync -a src/ root@h:/dst", "SshPass3y"),
    # curl -u
    ("curl -u", "curl -u admin:CurlPw1 https://nas.local/api", "CurlPw1"),
    ("curl -u", "curl -fsS --user 'svc:Curl Pw 2' https://x.example.com/a", "Curl Pw 2"),
    ("curl -u", "curl -uadmin:CurlPw3z -k https://10.0.0.1:8443/", "CurlPw3z"),
    ("curl -u", "curl -s -u bob:Curl,Pw4 https://h/", "Curl,Pw4"),
    # wget
    ("wget --password", "wget --user=bob --password=WgetPw1 https://x/file", "WgetPw1"),
    ("wget --password", "wget --http-password 'Wget Pw2' --http-user=x https://x/f", "Wget Pw2"),
    ("wget --password", "wget --ftp-user=a --ftp-password=WgetFtp3 ftp://h/f", "WgetFtp3"),
    # smbclient -U user%pw
    ("smbclient -U", "smbclient //nas/share -U admin%SmbPw1 -c 'ls'", "SmbPw1"),
    ("smbclient -U", "smbclient -L //10.0.0.4 -Ucorp/admin%SmbPw2x", "SmbPw2x"),
    ("smbclient -U", "smbclient //nas/share SmbPos3 -U admin", "SmbPos3"),
    ("smbclient -U", "rpcclient -U 'admin%Rpc Pw4' 10.0.0.4 -c enumdomusers", "Rpc Pw4"),
    ("smbclient -U", "net ads join -U administrator%JoinPw5", "JoinPw5"),
    # mount -o password=
    (
        "mount -o",
        "mount -t cifs //nas/x /mnt/x -o username=bob,password=MountPw1,vers=3.0",
        "MountPw1",
    ),
    ("mount -o", "sudo mount -t cifs -o 'user=a,pass=Mount Pw2,uid=1000' //h/s /mnt", "Mount Pw2"),
    ("mount -o", "mount.cifs //h/s /mnt -o credentials=/root/c,password=MountPw3", "MountPw3"),
    # ConvertTo-SecureString
    (
        "ConvertTo-SecureString",
        "ConvertTo-SecureString 'Ps Plain 1' -AsPlainText -Force",
        "Ps Plain 1",
    ),
    ("ConvertTo-SecureString", 'ConvertTo-SecureString -AsPlainText -Force "PsPlain2"', "PsPlain2"),
    (
        "ConvertTo-SecureString",
        "$p = ConvertTo-SecureString -String PsPlain3 -AsPlainText -Force",
        "PsPlain3",
    ),
    # New-Object PSCredential / NetworkCredential
    (
        "New-Object PSCredential",
        "$c = New-Object PSCredential('corp\\admin', (ConvertTo-SecureString 'CredPw1' -AsPlainText -Force))",
        "CredPw1",
    ),
    (
        "New-Object PSCredential",
        "New-Object System.Net.NetworkCredential('bob', 'NetCred Pw2')",
        "NetCred Pw2",
    ),
    (
        "New-Object PSCredential",
        "New-Object -TypeName System.Net.NetworkCredential -ArgumentList 'bob','NetCredPw3'",
        "NetCredPw3",
    ),
    (
        "New-Object PSCredential",
        "[System.Net.NetworkCredential]::new('u', 'NetCredPw4')",
        "NetCredPw4",
    ),
    # -Credential built inline
    (
        "-Credential inline",
        "Invoke-Command -ComputerName dc01 -Credential (New-Object PSCredential 'corp\\a', "
        "(ConvertTo-SecureString 'InlineCred1' -AsPlainText -Force)) -ScriptBlock { hostname }",
        "InlineCred1",
    ),
    (
        "-Credential inline",
        "Enter-PSSession dc01 -Credential ([pscredential]::new('a', (ConvertTo-SecureString "
        "-String 'Inline Cred2' -AsPlainText -Force)))",
        "Inline Cred2",
    ),
    # Set-ADAccountPassword -NewPassword
    (
        "Set-ADAccountPassword",
        "Set-ADAccountPassword -Identity bob -Reset -NewPassword (ConvertTo-SecureString "
        "-AsPlainText 'AdReset1!' -Force)",
        "AdReset1!",
    ),
    (
        "Set-ADAccountPassword",
        "Set-ADAccountPassword bob -OldPassword 'Old Ad 2' -NewPassword 'New Ad 2'",
        "Old Ad 2",
    ),
    ("Set-ADAccountPassword", "Set-LocalUser -Name bob -Password 'LocalPw 3'", "LocalPw 3"),
    # openssl -pass pass:
    ("openssl -pass", "openssl pkcs12 -export -in c.pem -out c.pfx -passout pass:PfxPw1", "PfxPw1"),
    ("openssl -pass", "openssl rsa -in k.pem -passin 'pass:Key Pw 2' -out k2.pem", "Key Pw 2"),
    ("openssl -pass", "openssl enc -aes-256-cbc -in a -out b -pass pass:EncPw3", "EncPw3"),
    ("openssl -pass", "openssl enc -d -aes256 -in b -k EncK4y", "EncK4y"),
    # htpasswd -b
    ("htpasswd -b", "htpasswd -b /etc/nginx/.htpasswd admin HtPw1", "HtPw1"),
    ("htpasswd -b", "htpasswd -bc .htpasswd bob 'Ht Pw 2'", "Ht Pw 2"),
    ("htpasswd -b", "htpasswd -nbB bob HtPw3x", "HtPw3x"),
    # connection strings in any argument
    (
        "connection string",
        'sqlcmd -S db -Q "x" -C "Server=db;Database=app;User Id=sa;Password=Conn Pw 1;"',
        "Conn Pw 1",
    ),
    (
        "connection string",
        "dotnet run --cs 'Data Source=db;Initial Catalog=x;pwd=ConnPw2;'",
        "ConnPw2",
    ),
    (
        "connection string",
        '$cs = "Server=tcp:x.database.windows.net;User ID=a;Password={Conn;Pw3};"',
        "Conn;Pw3",
    ),
    ("connection string", "psql 'host=db user=app password=ConnPw4 dbname=x'", "ConnPw4"),
    # secrets in URLs
    ("URL password", "git clone https://bob:UrlPw1@git.example.com/x/y.git", "UrlPw1"),
    ("URL password", "psql postgresql://app:Url@Pw2@db:5432/app", "Url@Pw2"),
    ("URL password", "curl 'https://api.example.com/v1/x?access_token=UrlTok3&a=1'", "UrlTok3"),
    ("URL password", "rclone copy ftp://u:Url/Pw4@ftp.example.com/a b", "Url/Pw4"),
    ("URL password", "mongosh 'mongodb+srv://admin:UrlPw5@cluster0.mongodb.net/db'", "UrlPw5"),
    # sqlcmd / bcp -P
    ("sqlcmd -P", "sqlcmd -S db01 -U sa -P SqlPw1 -Q 'select 1'", "SqlPw1"),
    ("sqlcmd -P", "bcp dbo.t out t.dat -S db -U sa -PBcpPw2 -c", "BcpPw2"),
    # schtasks / tasklist /p
    (
        "schtasks /rp",
        "schtasks /create /tn Backup /tr c:\\b.cmd /sc daily /ru corp\\svc /rp TaskPw1",
        "TaskPw1",
    ),
    ("schtasks /rp", "schtasks /query /s srv01 /u corp\\a /p TaskPw2", "TaskPw2"),
    ("schtasks /rp", "taskkill /s srv01 /u a /p TaskKill3 /im x.exe", "TaskKill3"),
    # xfreerdp /p:
    ("xfreerdp /p", "xfreerdp /v:10.0.0.5 /u:admin /p:RdpPw1 /cert:ignore", "RdpPw1"),
    ("xfreerdp /p", "rdesktop -u admin -p RdpPw2 10.0.0.5", "RdpPw2"),
    # ldap -w
    ("ldapsearch -w", "ldapsearch -x -D cn=admin,dc=x -w LdapPw1 -b dc=x", "LdapPw1"),
    ("ldapsearch -w", "ldapmodify -D cn=admin -wLdapPw2 -f a.ldif", "LdapPw2"),
    # redis-cli -a
    ("redis-cli -a", "redis-cli -h 10.0.0.2 -a RedisPw1 ping", "RedisPw1"),
    # docker / az login -p
    ("docker login -p", "docker login -u me -p DockerPw1 registry.example.com", "DockerPw1"),
    (
        "docker login -p",
        "az login --service-principal -u appid -p AzSecret2 --tenant t",
        "AzSecret2",
    ),
    # archives
    ("7z -p", "7z a -pZipPw1 -mhe=on backup.7z C:\\data", "ZipPw1"),
    ("7z -p", "zip -P ZipPw2 -r a.zip dir", "ZipPw2"),
    # rasdial
    ("rasdial", 'rasdial "Corp VPN" vpnuser VpnPw1', "VpnPw1"),
    # useradd -p
    ("useradd -p", "useradd -m -p HashPw1x deploy", "HashPw1x"),
    # keytool
    ("keytool -storepass", "keytool -list -keystore k.jks -storepass KeyStore1", "KeyStore1"),
    # wrapped forms: the same secrets inside wrappers
    ("wrapped", "ssh root@db01 \"mysql -uroot -pWrapPw1 -e 'select 1'\"", "WrapPw1"),
    ("wrapped", "bash -c 'sshpass -p WrapPw2 ssh h uptime'", "WrapPw2"),
    (
        "wrapped",
        'powershell -NoProfile -Command "net use Z: \\\\nas\\x WrapPw3 /user:a"',
        "WrapPw3",
    ),
    ("wrapped", "cmd /c net user bob WrapPw4 /add", "WrapPw4"),
    ("wrapped", "docker exec -it db mariadb -uroot -pWrapPw5", "WrapPw5"),
    ("wrapped", "Invoke-Command -ComputerName x -ScriptBlock { net user bob WrapPw6 }", "WrapPw6"),
    ("wrapped", "sudo -u postgres PGPASSWORD=WrapPw7 psql -h db", "WrapPw7"),
    ("wrapped", "winrs -r:srv01 -u:admin -p:WrapPw8 ipconfig", "WrapPw8"),
]
