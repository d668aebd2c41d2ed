# The one read of a Windows room (read-only): diagnose's facts, and the firewall and proxy actions'
# before/after reads. Every judgement is made in Python (plugins/plugin_utils/zoom_room_windows.py).
[CmdletBinding()]
param (
    [int]$Port = 9090,
    [string]$ProxyUser = '',
    [string[]]$AppPaths = @(),
    [string]$RuleName = ''
)
$ErrorActionPreference = 'Stop'
$Ansible.Changed = $false
$errors = [System.Collections.Generic.List[string]]::new()
$facts = @{ port = $Port }

try {
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $facts.host = @{ hostname = $env:COMPUTERNAME; os_name = [string]$os.Caption; os_version = [string]$os.Version }
} catch { $errors.Add("host: $($_.Exception.Message)") }

try {
    $facts.listeners = @(foreach ($connection in @(Get-NetTCPConnection -State Listen)) {
        if ([int]$connection.LocalPort -ne $Port) { continue }
        $process = Get-CimInstance -ClassName Win32_Process -Filter "ProcessId = $([int]$connection.OwningProcess)"
        $processName = $null
        $processPath = $null
        if ($process) { $processName = [string]$process.Name; $processPath = [string]$process.ExecutablePath }
        @{
            local_address = [string]$connection.LocalAddress
            local_port = [int]$connection.LocalPort
            owning_process = [int]$connection.OwningProcess
            process_name = $processName
            process_path = $processPath
        }
    })
} catch { $errors.Add("listener: $($_.Exception.Message)") }

try {
    $facts.firewall_profiles = @(foreach ($firewallProfile in @(Get-NetFirewallProfile -PolicyStore ActiveStore)) {
        @{
            name = [string]$firewallProfile.Name
            enabled = [string]$firewallProfile.Enabled
            default_inbound_action = [string]$firewallProfile.DefaultInboundAction
            allow_inbound_rules = [string]$firewallProfile.AllowInboundRules
            allow_local_firewall_rules = [string]$firewallProfile.AllowLocalFirewallRules
        }
    })
    # Filters are fetched once each and joined on InstanceID: one query per rule would take minutes.
    function Get-FilterTable ([scriptblock]$Query) {
        $table = @{}
        foreach ($filter in @(& $Query)) { $table[$filter.InstanceID] = $filter }
        $table
    }
    $portFilters = Get-FilterTable { Get-NetFirewallPortFilter -All -PolicyStore ActiveStore }
    $addressFilters = Get-FilterTable { Get-NetFirewallAddressFilter -All -PolicyStore ActiveStore }
    $appFilters = Get-FilterTable { Get-NetFirewallApplicationFilter -All -PolicyStore ActiveStore }
    $serviceFilters = Get-FilterTable { Get-NetFirewallServiceFilter -All -PolicyStore ActiveStore }
    $interfaceFilters = Get-FilterTable { Get-NetFirewallInterfaceTypeFilter -All -PolicyStore ActiveStore }
    # -TracePolicyStore: Get-NetFirewallRule's documentation fills PolicyStoreSourceType (Local/GroupPolicy,
    # read as `source`) only for ActiveStore reads made with policy store tracing; without it a local rule that
    # AllowLocalFirewallRules False makes Windows ignore cannot be told from a Group Policy one.
    $inboundRules = @(Get-NetFirewallRule -PolicyStore ActiveStore -TracePolicyStore -Direction Inbound -Enabled True)
    $facts.firewall_rules = @(foreach ($rule in $inboundRules) {
        $portFilter = $portFilters[$rule.Name]
        if ($null -eq $portFilter -or @('TCP', 'Any', '6') -notcontains [string]$portFilter.Protocol) { continue }
        $addressFilter = $addressFilters[$rule.Name]
        $appFilter = $appFilters[$rule.Name]
        $serviceFilter = $serviceFilters[$rule.Name]
        $interfaceFilter = $interfaceFilters[$rule.Name]
        @{
            name = [string]$rule.Name
            display_name = [string]$rule.DisplayName
            action = [string]$rule.Action
            profile = [string]$rule.Profile
            source = [string]$rule.PolicyStoreSourceType
            protocol = [string]$portFilter.Protocol
            local_port = @($portFilter.LocalPort | ForEach-Object { [string]$_ })
            remote_port = @($portFilter.RemotePort | ForEach-Object { [string]$_ })
            local_address = @($addressFilter.LocalAddress | ForEach-Object { [string]$_ })
            remote_address = @($addressFilter.RemoteAddress | ForEach-Object { [string]$_ })
            program = [string]$appFilter.Program
            package = [string]$appFilter.Package
            service = [string]$serviceFilter.Service
            interface_type = [string]$interfaceFilter.InterfaceType
        }
    })
} catch { $errors.Add("firewall: $($_.Exception.Message)") }

if ($RuleName) {
    try {
        # Our rule as community.windows.win_firewall_rule sees and edits it: the firewall COM API, by Name.
        $firewallPolicy = New-Object -ComObject HNetCfg.FwPolicy2
        $facts.existing_rules = @(foreach ($rule in @($firewallPolicy.Rules | Where-Object { $_.Name -eq $RuleName })) {
            @{
                name = [string]$rule.Name
                description = [string]$rule.Description
                application_name = [string]$rule.ApplicationName
                service_name = [string]$rule.ServiceName
                protocol = [int]$rule.Protocol
                local_ports = [string]$rule.LocalPorts
                remote_ports = [string]$rule.RemotePorts
                local_addresses = [string]$rule.LocalAddresses
                remote_addresses = [string]$rule.RemoteAddresses
                direction = [int]$rule.Direction
                action = [int]$rule.Action
                enabled = [bool]$rule.Enabled
                profiles = [int]$rule.Profiles
                grouping = [string]$rule.Grouping
            }
        })
    } catch { $errors.Add("rule: $($_.Exception.Message)") }
}

try {
    $connectionProfiles = @(Get-NetConnectionProfile -ErrorAction SilentlyContinue)
    $facts.connection_profiles = @(foreach ($connectionProfile in $connectionProfiles) {
        @{
            interface_alias = [string]$connectionProfile.InterfaceAlias
            interface_index = [int]$connectionProfile.InterfaceIndex
            network_category = [string]$connectionProfile.NetworkCategory
        }
    })
    $facts.addresses = @(foreach ($address in @(Get-NetIPAddress -AddressState Preferred)) {
        @{
            interface_alias = [string]$address.InterfaceAlias
            interface_index = [int]$address.InterfaceIndex
            address = [string]$address.IPAddress
            prefix = [int]$address.PrefixLength
        }
    })
    $routes = @(Get-NetRoute -DestinationPrefix '0.0.0.0/0', '::/0' -ErrorAction SilentlyContinue)
    $facts.default_routes = @(foreach ($route in $routes) {
        @{ interface_index = [int]$route.InterfaceIndex; next_hop = [string]$route.NextHop }
    })
} catch { $errors.Add("addresses: $($_.Exception.Message)") }

try {
    $uninstallRoots = @(
        @{ path = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall'; view = 'registry64' },
        @{ path = 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'; view = 'registry32' }
    )
    $facts.uninstall_entries = @(foreach ($root in $uninstallRoots) {
        foreach ($key in @(Get-ChildItem -LiteralPath $root.path -ErrorAction SilentlyContinue)) {
            $entry = Get-ItemProperty -LiteralPath $key.PSPath -ErrorAction SilentlyContinue
            if ([string]$entry.DisplayName -notlike '*Zoom*') { continue }
            @{
                key = [string]$key.Name
                view = $root.view
                display_name = [string]$entry.DisplayName
                display_version = [string]$entry.DisplayVersion
                publisher = [string]$entry.Publisher
                install_location = [string]$entry.InstallLocation
            }
        }
    })
    $facts.app_paths = @(foreach ($path in $AppPaths) { [Environment]::ExpandEnvironmentVariables($path) })
    $facts.executables = @(foreach ($path in $facts.app_paths) {
        if (-not (Test-Path -LiteralPath $path -PathType Leaf)) { continue }
        $versionInfo = (Get-Item -LiteralPath $path).VersionInfo
        @{
            path = $path
            file_version = [string]$versionInfo.FileVersion
            product_version = [string]$versionInfo.ProductVersion
        }
    })
} catch { $errors.Add("app: $($_.Exception.Message)") }

try {
    Add-Type -TypeDefinition @'
using System;
using System.ComponentModel;
using System.Runtime.InteropServices;
namespace ZoomRoomFacts
{
    public static class WinHttpDefaultProxy
    {
        [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
        private struct WINHTTP_PROXY_INFO
        {
            public uint dwAccessType;
            public IntPtr lpszProxy;
            public IntPtr lpszProxyBypass;
        }

        [DllImport("winhttp.dll", SetLastError = true)]
        private static extern bool WinHttpGetDefaultProxyConfiguration(ref WINHTTP_PROXY_INFO info);

        [DllImport("kernel32.dll")]
        private static extern IntPtr GlobalFree(IntPtr handle);

        public static string[] Read()
        {
            WINHTTP_PROXY_INFO info = new WINHTTP_PROXY_INFO();
            if (!WinHttpGetDefaultProxyConfiguration(ref info))
                throw new Win32Exception(Marshal.GetLastWin32Error());
            try
            {
                return new string[] {
                    info.dwAccessType.ToString(),
                    Marshal.PtrToStringUni(info.lpszProxy),
                    Marshal.PtrToStringUni(info.lpszProxyBypass)
                };
            }
            finally
            {
                if (info.lpszProxy != IntPtr.Zero) GlobalFree(info.lpszProxy);
                if (info.lpszProxyBypass != IntPtr.Zero) GlobalFree(info.lpszProxyBypass);
            }
        }
    }
}
'@
    $winHttp = [ZoomRoomFacts.WinHttpDefaultProxy]::Read()
    $facts.winhttp = @{
        method = 'WinHttpGetDefaultProxyConfiguration'
        access_type = [int]$winHttp[0]
        proxy = $winHttp[1]
        bypass = $winHttp[2]
    }
} catch {
    # Without Add-Type: the raw WinHttpSettings value (decoded in Python), never netsh's localised text.
    try {
        $connections = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections' -ErrorAction SilentlyContinue
        $blob = $null
        if ($connections) { $blob = $connections.WinHttpSettings }
        $encoded = ''
        if ($blob -is [byte[]]) { $encoded = [Convert]::ToBase64String($blob) }
        $facts.winhttp = @{ method = 'registry'; settings_base64 = $encoded }
    } catch { $errors.Add("winhttp: $($_.Exception.Message)") }
}

try {
    $settingsPath = 'Software\Microsoft\Windows\CurrentVersion\Internet Settings'
    $policyKey = 'HKLM:\SOFTWARE\Policies\Microsoft\Windows\CurrentVersion\Internet Settings'
    $policy = Get-ItemProperty -LiteralPath $policyKey -ErrorAction SilentlyContinue
    $perUser = $null
    if ($policy -and $null -ne $policy.ProxySettingsPerUser) { $perUser = [int]$policy.ProxySettingsPerUser }
    $winlogon = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon'
    $facts.wininet_policy = @{
        proxy_settings_per_user = $perUser
        auto_admin_logon = [string]$winlogon.AutoAdminLogon
        default_user_name = [string]$winlogon.DefaultUserName
        default_domain_name = [string]$winlogon.DefaultDomainName
        requested_user = $ProxyUser
    }
    $targets = [System.Collections.Generic.List[hashtable]]::new()
    if ($perUser -eq 0) {
        $targets.Add(@{ scope = 'machine'; account = $null; sid = $null; path = "HKLM:\$settingsPath" })
    } else {
        $account = $ProxyUser
        if (-not $account -and [string]$winlogon.AutoAdminLogon -eq '1' -and $winlogon.DefaultUserName) {
            $account = [string]$winlogon.DefaultUserName
            if ($winlogon.DefaultDomainName) { $account = "$($winlogon.DefaultDomainName)\$account" }
        }
        if ($account) {
            $sid = $null
            $path = $null
            try {
                $ntAccount = [System.Security.Principal.NTAccount]$account
                $sid = $ntAccount.Translate([System.Security.Principal.SecurityIdentifier]).Value
                $path = "Registry::HKEY_USERS\$sid\$settingsPath"
            } catch { $errors.Add("wininet: cannot resolve account '$account': $($_.Exception.Message)") }
            $targets.Add(@{ scope = 'user'; account = $account; sid = $sid; path = $path })
        } else {
            # No account named and no auto-logon: every loaded interactive hive but the one we connect as.
            # User SIDs: S-1-5-21-* (local and Active Directory accounts) and S-1-12-1-* (Entra ID accounts of an
            # Entra-joined room: "S-1-12-1-" and the object ID's four 32-bit words, okieselbach/Intune
            # Convert-AzureAdObjectIdToSid.ps1). Service hives (S-1-5-18/19/20), .DEFAULT and *_Classes do not match.
            $self = [System.Security.Principal.WindowsIdentity]::GetCurrent().User.Value
            foreach ($hive in @(Get-ChildItem -LiteralPath 'Registry::HKEY_USERS')) {
                $sid = $hive.PSChildName
                if ($sid -notmatch '^S-1-(5-21|12-1)-[\d-]+$' -or $sid -eq $self) { continue }
                $name = $sid
                try {
                    $securityIdentifier = [System.Security.Principal.SecurityIdentifier]$sid
                    $name = $securityIdentifier.Translate([System.Security.Principal.NTAccount]).Value
                } catch { $name = $sid }
                $targets.Add(@{ scope = 'user'; account = $name; sid = $sid; path = "Registry::HKEY_USERS\$sid\$settingsPath" })
            }
        }
    }
    $facts.wininet = @(foreach ($target in $targets) {
        $values = $null
        $flags = $null
        $blob = $null
        $loaded = [bool]($target.path -and (Test-Path -LiteralPath $target.path))
        if ($loaded) {
            $values = Get-ItemProperty -LiteralPath $target.path
            $connections = Get-ItemProperty -LiteralPath "$($target.path)\Connections" -ErrorAction SilentlyContinue
            # DefaultConnectionSettings byte 8 holds the PROXY_TYPE_* flags (proxy 2, PAC 4, auto-detect 8); the
            # whole value goes along too: its proxy, bypass and PAC strings stand in for missing registry values.
            if ($connections) { $blob = $connections.DefaultConnectionSettings }
            if ($blob -is [byte[]] -and $blob.Length -gt 8) { $flags = [int]$blob[8] }
        }
        @{
            scope = $target.scope
            account = $target.account
            sid = $target.sid
            loaded = $loaded
            proxy_enable = $(if ($values) { $values.ProxyEnable } else { $null })
            proxy_server = $(if ($values) { [string]$values.ProxyServer } else { $null })
            proxy_override = $(if ($values) { [string]$values.ProxyOverride } else { $null })
            auto_config_url = $(if ($values) { [string]$values.AutoConfigURL } else { $null })
            connection_flags = $flags
            connection_settings_base64 = $(if ($blob -is [byte[]]) { [Convert]::ToBase64String($blob) } else { $null })
        }
    })
} catch { $errors.Add("wininet: $($_.Exception.Message)") }

$facts.errors = @($errors)
$Ansible.Result = $facts
